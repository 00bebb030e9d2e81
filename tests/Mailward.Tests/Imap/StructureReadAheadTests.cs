// Parsing a FETCH's structures ahead of the writer (Imap:ParseAheadThreads): every UID gets its own
// message's structure whatever order threads finish in, the writer may ask out of order or for a UID
// not in the list, a FETCH's end stops the threads at once, and over a socket the replies are the
// same bytes as a server that parses as it writes.
using System.Diagnostics;
using System.Text;
using MailKit.Net.Imap;
using MailKit.Security;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Protocols.Imap.Fetch;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Imap;

public sealed class StructureReadAheadTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly MailStoreLayout _layout;
    private readonly MailboxOwner _owner = new("joe@hosted.test", "hosted.test/joe");

    public StructureReadAheadTests() => _layout = new MailStoreLayout(_dir.Path, 100);

    public void Dispose() => _dir.Dispose();

    private async Task<IMailbox> FolderAsync(int count)
    {
        var maildir = MailStoreLayout.MaildirOf(_layout.Resolve(_owner.Directory));
        for (var n = 1; n <= count; n++)
        {
            // Shapes differ so parses take different times and threads finish out of order.
            var body = n % 3 == 0
                ? $"Subject: m{n}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n{new string('x', n * 50)}\n--b\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAAA\n--b--\n"
                : $"Subject: m{n}\nContent-Type: text/plain\n\nbody {n}\n";
            using var stream = new MemoryStream(Encoding.ASCII.GetBytes(body));
            MaildirWriter.Deliver(maildir, $"{1_700_000_000 + n}.M{n:D4}", "mail.test", "s@remote.test", "joe@hosted.test", stream);
        }
        return await new MaildirStore(_layout, "node-a", "mail.test").OpenAsync(_owner);
    }

    [Fact]
    public async Task Each_uid_gets_its_own_messages_structure_in_any_order_of_asking()
    {
        using var box = await FolderAsync(120);
        var uids = box.Entries.Select(e => e.Uid).ToList();
        // UIDs follow delivery order here, so message n has UID n and subject "m{n}".
        Assert.Equal(Enumerable.Range(1, 120).Select(i => (uint)i), uids);
        using (var ahead = new StructureReadAhead(box, uids, threads: 3, window: 8))
        {
            var asked = uids.Take(40).Concat(uids.Skip(60)).Concat(uids.Skip(40).Take(20).Reverse()); // a gap, then back
            foreach (var uid in asked)
                Assert.Equal($"m{uid}", (await ahead.StructureAsync(uid, CancellationToken.None))?.Root.Envelope?.Subject);
            Assert.Null(await ahead.StructureAsync(9999, CancellationToken.None)); // not in the list: straight to the mailbox
        }
    }

    [Fact]
    public async Task The_end_of_a_fetch_stops_threads_waiting_for_the_writer_at_once()
    {
        using var box = await FolderAsync(50);
        var clock = Stopwatch.StartNew();
        using (var ahead = new StructureReadAhead(box, [.. box.Entries.Select(e => e.Uid)], threads: 2, window: 4))
        {
            Assert.Equal("m1", (await ahead.StructureAsync(1, CancellationToken.None))?.Root.Envelope?.Subject);
            await Task.Delay(200); // the threads fill the window and wait for the writer
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"Dispose took {clock.Elapsed}");
    }

    private static async Task<string> FetchAllAsync(ServerFixture server)
    {
        using (var client = new ImapClient { Timeout = 30_000 })
        {
            await client.ConnectAsync("127.0.0.1", server.Imap.Port, SecureSocketOptions.None);
            await client.AuthenticateAsync("joe@hosted.test", "pw");
            await client.Inbox.OpenAsync(MailKit.FolderAccess.ReadWrite);
            for (var n = 1; n <= 60; n++)
            {
                var message = new MimeMessage([new MailboxAddress("S", "s@remote.test")], [new MailboxAddress("", "joe@hosted.test")], $"subject {n}",
                    n % 2 == 0 ? new Multipart("mixed") { new TextPart("plain") { Text = $"text {n}" }, new TextPart("html") { Text = $"<p>{n}</p>" } } : new TextPart("plain") { Text = $"plain {n}" });
                (message.Date, message.MessageId) = (DateTimeOffset.FromUnixTimeSeconds(1_750_000_000 + n), $"m{n}@remote.test"); // the same on both servers
                foreach (var part in message.BodyParts)
                    part.ContentId = null;
                if (message.Body is Multipart multipart)
                    multipart.Boundary = "boundary-" + n;
                await client.Inbox.AppendAsync(new MailKit.AppendRequest(message));
            }
        }
        using var raw = new StructureImapClient(server.Imap.Port);
        Assert.StartsWith("t1 OK", raw.Command("LOGIN joe@hosted.test pw").Tagged);
        Assert.Contains(" OK", raw.Command("EXAMINE INBOX").Tagged, StringComparison.Ordinal);
        var (untagged, tagged) = raw.Command("FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY[1.MIME])");
        Assert.Contains(" OK", tagged, StringComparison.Ordinal);
        var lines = untagged.Select(Encoding.Latin1.GetString).Where(l => l.Contains(" FETCH (", StringComparison.Ordinal)).ToList();
        Assert.Equal(60, lines.Count);
        return string.Join("\n", lines);
    }

    [Fact]
    public async Task Over_a_socket_the_replies_are_those_of_a_server_parsing_as_it_writes()
    {
        string ahead, inline;
        await using (var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Imap:ParseAheadThreads=2"))
            ahead = await FetchAllAsync(server);
        await using (var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Imap:ParseAheadThreads=0", "--Imap:RenderCacheBytes=0"))
            inline = await FetchAllAsync(server);
        Assert.Contains("\"subject 60\"", ahead, StringComparison.Ordinal);
        Assert.Equal(inline, ahead);
    }
}
