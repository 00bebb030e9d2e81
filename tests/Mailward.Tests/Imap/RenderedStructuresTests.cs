// The process-wide cache of rendered ENVELOPE/BODYSTRUCTURE (Imap:RenderCacheBytes): its budget and
// eviction, and over a real socket that a second FETCH, another session's, an IMAP4rev2 session's
// and a server without the cache all see what the renderers make.
using System.Text;
using MailKit.Net.Imap;
using MailKit.Security;
using Mailward.Protocols.Imap.Fetch;
using Mailward.Tests.Smtp;
using MimeKit;

namespace Mailward.Tests.Imap;

public class RenderedStructuresTests
{
    private static readonly RenderedStructures.Kind Env = RenderedStructures.Kind.Envelope;

    [Fact]
    public void Kept_bytes_are_found_by_folder_validity_uid_and_size()
    {
        var cache = new RenderedStructures(1 << 20);
        cache.Keep("joe@x.test", "INBOX", 7, 1, 100, Env, [1, 2, 3]);
        Assert.Equal([1, 2, 3], cache.Find("joe@x.test", "INBOX", 7, 1, 100, Env));
        Assert.Null(cache.Find("joe@x.test", "INBOX", 8, 1, 100, Env)); // another UIDVALIDITY
        Assert.Null(cache.Find("joe@x.test", "INBOX", 7, 1, 101, Env)); // another size: a file replaced by hand
        Assert.Null(cache.Find("joe@x.test", "Sent", 7, 1, 100, Env));
        Assert.Null(cache.Find("ann@x.test", "INBOX", 7, 1, 100, Env));
        Assert.Null(cache.Find("joe@x.test", "INBOX", 7, 1, 100, RenderedStructures.Kind.BodyStructure));
        cache.Keep("joe@x.test", "INBOX", 7, 1, 101, Env, [4]);
        Assert.Equal([4], cache.Find("joe@x.test", "INBOX", 7, 1, 101, Env));
        Assert.Null(cache.Find("joe@x.test", "INBOX", 7, 1, 100, Env));
    }

    [Fact]
    public void Older_folders_make_room_and_a_folder_alone_keeps_what_fits()
    {
        var cache = new RenderedStructures(3000);
        cache.Keep("a", "INBOX", 1, 1, 10, Env, new byte[900]);
        cache.Keep("b", "INBOX", 1, 1, 10, Env, new byte[900]);
        Assert.NotNull(cache.Find("a", "INBOX", 1, 1, 10, Env)); // a is now the more recently used
        cache.Keep("c", "INBOX", 1, 1, 10, Env, new byte[900]);
        Assert.Null(cache.Find("b", "INBOX", 1, 1, 10, Env));
        Assert.NotNull(cache.Find("a", "INBOX", 1, 1, 10, Env));
        Assert.NotNull(cache.Find("c", "INBOX", 1, 1, 10, Env));
        Assert.True(cache.Bytes <= 3000);

        for (uint uid = 1; uid <= 10; uid++)
            cache.Keep("d", "INBOX", 1, uid, 10, Env, new byte[900]);
        Assert.True(cache.Bytes <= 3000, $"{cache.Bytes} bytes kept");
        Assert.NotNull(cache.Find("d", "INBOX", 1, 1, 10, Env)); // the first ones stay; the folder does not evict itself
        Assert.Null(cache.Find("d", "INBOX", 1, 10, 10, Env));
        Assert.Null(cache.Find("a", "INBOX", 1, 1, 10, Env));

        var none = new RenderedStructures(0);
        none.Keep("a", "INBOX", 1, 1, 10, Env, [1]);
        Assert.Null(none.Find("a", "INBOX", 1, 1, 10, Env));
    }

    private const string Global = "From: a@remote.test\r\nTo: joe@hosted.test\r\nSubject: outer\r\nMIME-Version: 1.0\r\n"
        + "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\n"
        + "Content-Type: message/global\r\n\r\nSubject: inner\r\nFrom: c@remote.test\r\n\r\ninner body\r\n--b--\r\n";

    private const string Plain = "From: \"B\" <b@remote.test>\r\nTo: joe@hosted.test\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\nplain\r\n";

    private static string Fetch(int port, bool rev2)
    {
        using var client = new StructureImapClient(port);
        Assert.StartsWith("t1 OK", client.Command("LOGIN joe@hosted.test pw").Tagged);
        var n = 2;
        if (rev2)
            Assert.StartsWith($"t{n++} OK", client.Command("ENABLE IMAP4rev2").Tagged);
        Assert.Contains(" OK", client.Command("SELECT INBOX").Tagged, StringComparison.Ordinal);
        var (untagged, tagged) = client.Command("FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY)");
        Assert.Contains(" OK", tagged, StringComparison.Ordinal);
        return string.Join("\n", untagged.Select(Encoding.Latin1.GetString).Where(l => l.Contains(" FETCH (", StringComparison.Ordinal)));
    }

    private static async Task AppendAsync(ServerFixture server)
    {
        using var client = new ImapClient { Timeout = 15_000 };
        await client.ConnectAsync("127.0.0.1", server.Imap.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync("joe@hosted.test", "pw");
        await client.Inbox.OpenAsync(MailKit.FolderAccess.ReadWrite);
        foreach (var text in new[] { Global, Plain })
            await client.Inbox.AppendAsync(new MailKit.AppendRequest(MimeMessage.Load(new MemoryStream(Encoding.ASCII.GetBytes(text)))));
    }

    [Fact]
    public async Task A_second_fetch_another_session_and_imap4rev2_see_what_the_renderers_make()
    {
        string rev1, again, rev2;
        await using (var server = await ServerFixture.StartAsync(["user joe@hosted.test"]))
        {
            await AppendAsync(server);
            rev1 = Fetch(server.Imap.Port, rev2: false);
            again = Fetch(server.Imap.Port, rev2: false);
            rev2 = Fetch(server.Imap.Port, rev2: true);
            Assert.Equal(rev1, Fetch(server.Imap.Port, rev2: false));
        }
        string uncached;
        await using (var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Imap:RenderCacheBytes=0"))
        {
            await AppendAsync(server);
            uncached = Fetch(server.Imap.Port, rev2: false);
        }
        Assert.Equal(rev1, again);
        Assert.Equal(rev1, uncached);
        // message/global has the message layout (its envelope inside) only for IMAP4rev2 (RFC 9051 §7.5.2).
        Assert.DoesNotContain("\"inner\"", rev1, StringComparison.Ordinal);
        Assert.Contains("\"inner\"", rev2, StringComparison.Ordinal);
        Assert.Contains("=?UTF-8?B?R3LDvMOfZQ==?=", rev1, StringComparison.Ordinal);
    }
}
