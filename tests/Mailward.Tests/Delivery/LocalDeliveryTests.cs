// Local delivery end to end: mail sent over SMTP lands in the right Maildir with Return-Path and
// Delivered-To added, LF line ends and ,S=/,W= sizes in its name, and leaves the queue; extension
// addresses, aliases, alias domains, catch-alls and forwards resolve as qmail-local and
// vdelivermail did; a forwarding loop ends instead of storming.
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Core.Accounts;
using Mailward.Tests.Smtp;
using MimeKit;

namespace Mailward.Tests.Delivery;

public class LocalDeliveryTests
{
    private static async Task SendAsync(ServerFixture server, string to, string subject, string text = "hello", string from = "sender@remote.test")
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = text, ContentTransferEncoding = ContentEncoding.EightBit };
        using var client = new SmtpClient { Timeout = 15_000 };
        await client.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.None);
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
    }

    private static string Maildir(ServerFixture server, string address)
    {
        var a = Core.Addresses.MailAddress.Parse(address);
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}", cacheMaxEntries: 0);
        var user = store.FindUser(a.Local, a.Domain)!;
        store.Dispose();
        return Path.Combine(server.DataPath, "domains", user.Directory, "Maildir");
    }

    private static string[] NewMail(string maildir) =>
        Directory.Exists(Path.Combine(maildir, "new")) ? Directory.GetFiles(Path.Combine(maildir, "new")).Order().ToArray() : [];

    /// <summary>Waits until the queue holds <paramref name="left"/> messages and nothing changes for a moment.</summary>
    private static async Task SettleAsync(ServerFixture server, int left = 0)
    {
        for (var i = 0; i < 100; i++)
        {
            if (server.Queue.Messages.Count == left)
            {
                await Task.Delay(200);
                if (server.Queue.Messages.Count == left)
                    return;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"queue still holds {server.Queue.Messages.Count} messages, expected {left}");
    }

    [Fact]
    public async Task Mail_for_a_user_lands_in_its_Maildir_with_trace_headers_and_leaves_the_queue()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Delivery:Enabled=true");
        await SendAsync(server, "Joe@Hosted.test", "Grüße", "Zeile eins\r\n.zwei\r\n");
        await SettleAsync(server);
        var file = Assert.Single(NewMail(Maildir(server, "joe@hosted.test")));
        var bytes = await File.ReadAllBytesAsync(file);
        var text = Encoding.UTF8.GetString(bytes);
        Assert.StartsWith("Return-Path: <sender@remote.test>\nDelivered-To: joe@hosted.test\nReceived: from ", text);
        Assert.DoesNotContain("\r", text);
        Assert.Contains("Zeile eins\n.zwei\n", text);
        Assert.Contains("Subject: =?", text); // MimeKit encodes the 8-bit subject
        var lf = bytes.Count(b => b == (byte)'\n');
        Assert.EndsWith($",S={bytes.Length},W={bytes.Length + lf}", Path.GetFileName(file));
        Assert.Empty(Directory.GetFiles(Path.Combine(Maildir(server, "joe@hosted.test"), "tmp")));
        Assert.Contains(server.Log, l => l.Contains("to=<joe@hosted.test> result=delivered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Extensions_aliases_alias_domains_catch_alls_and_forwards_resolve()
    {
        var archive = Path.Combine(Path.GetTempPath(), "mailward-tests", "archive-" + Guid.NewGuid().ToString("N")[..8], "Maildir");
        await using var server = await ServerFixture.StartAsync(
        [
            "user joe@hosted.test", "user ann@hosted.test",
            "alias team@hosted.test &joe@hosted.test", "alias team@hosted.test &ann@hosted.test",
            $"alias archive@hosted.test {archive}/",
            "aliasdomain other.test hosted.test",
            "user box@catch.test", "catchall catch.test mailbox:box",
            "domain drop.test", "catchall drop.test delete",
        ], "--Delivery:Enabled=true");
        await SendAsync(server, "joe-news@hosted.test", "extension -");
        await SendAsync(server, "joe+list@hosted.test", "extension +");
        await SendAsync(server, "ann@other.test", "alias domain");
        await SendAsync(server, "team@hosted.test", "alias forwards to two users");
        await SendAsync(server, "archive@hosted.test", "alias to a Maildir path");
        await SendAsync(server, "whoever@catch.test", "catch-all mailbox");
        await SendAsync(server, "whoever@drop.test", "catch-all delete");
        await SettleAsync(server);

        Assert.Equal(3, NewMail(Maildir(server, "joe@hosted.test")).Length); // -news, +list, team
        Assert.Equal(2, NewMail(Maildir(server, "ann@hosted.test")).Length); // alias domain, team
        Assert.Single(NewMail(Maildir(server, "box@catch.test")));
        var archived = Assert.Single(NewMail(archive));
        Assert.Contains("Delivered-To: archive@hosted.test\n", await File.ReadAllTextAsync(archived));
        var team = NewMail(Maildir(server, "joe@hosted.test")).Select(File.ReadAllText).Single(t => t.Contains("Subject: alias forwards", StringComparison.Ordinal));
        // The forward went through the queue again: its own Delivered-To for the alias, then the user's.
        Assert.StartsWith("Return-Path: <sender@remote.test>\nDelivered-To: joe@hosted.test\nDelivered-To: team@hosted.test\n", team);
        Directory.Delete(Path.GetDirectoryName(archive)!, recursive: true);
    }

    [Fact]
    public async Task A_forwarding_loop_ends_with_the_looping_message_held_not_a_storm()
    {
        await using var server = await ServerFixture.StartAsync(
            ["domain hosted.test", "alias a@hosted.test &b@hosted.test", "alias b@hosted.test &a@hosted.test"], "--Delivery:Enabled=true");
        await SendAsync(server, "a@hosted.test", "loop");
        await SettleAsync(server, left: 1);
        var held = Assert.Single(server.Queue.Messages);
        Assert.Equal(["a@hosted.test"], held.Envelope.Recipients);
        Assert.Contains(server.Log, l => l.Contains("result=permanent detail=looping", StringComparison.Ordinal));
        // a -> b -> a: the message from SMTP and two forwards, then it stops.
        Assert.Equal(2, server.Log.Count(l => l.Contains("forwarded to", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task The_bounce_all_flag_refuses_delivery()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Delivery:Enabled=true");
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}", cacheCheckMilliseconds: 0);
        store.UpdateUser(store.FindUser("joe", "hosted.test")! with { Flags = UserFlags.BounceMail });
        store.Dispose();
        await Task.Delay(1100); // the server's cache re-reads the store's change counter within a second
        await SendAsync(server, "joe@hosted.test", "refused");
        await SettleAsync(server, left: 1);
        Assert.Empty(NewMail(Maildir(server, "joe@hosted.test")));
        Assert.Contains(server.Log, l => l.Contains("result=permanent detail=this mailbox refuses all mail", StringComparison.Ordinal));
    }
}
