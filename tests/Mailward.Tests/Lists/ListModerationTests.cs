// Moderated lists over real sockets with MailKit's SmtpClient (docs/lists.md, "Moderation: held
// posts"): a non-moderator's post is held and sent to the moderators; the accept address posts it
// once however often it is used, the reject address tells the poster, a forged cookie does nothing;
// and the crash states of an accept (copies queued or only begun before the held file said so).
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Tests.Support;
using MimeKit;
using static Mailward.Tests.Lists.ListTestMail;
using ListTestMail = Mailward.Tests.Lists.ListTestMail;

namespace Mailward.Tests.Lists;

public class ListModerationTests
{
    /// <summary>The queue empty; when it does not empty, the server's log says why.</summary>
    private static async Task SettleAsync(Smtp.ServerFixture server)
    {
        try
        {
            await ListTestMail.SettleAsync(server);
        }
        catch (Exception e) when (e is not InvalidOperationException)
        {
            throw new InvalidOperationException(e.Message + "\n" + string.Join("\n", server.Log), e);
        }
    }

    private static async Task<Smtp.ServerFixture> ModeratedAsync(TestMta sink)
    {
        var server = await StartAsync(sink);
        await CliAsync(server, "list", "add", "team@hosted.test", "--name", "Team", "--policy", "moderated");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test", "amy@hosted.test", "rob@remote.test");
        await CliAsync(server, "list", "moderators", "team@hosted.test", "add", "mod@hosted.test");
        return server;
    }

    /// <summary>One message through MailKit's SmtpClient on the server's SMTP port.</summary>
    private static async Task MailKitSendAsync(Smtp.ServerFixture server, string sender, string rcpt, string subject)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse(sender));
        m.To.Add(MailboxAddress.Parse(rcpt));
        m.Subject = subject;
        m.Body = new TextPart("plain") { Text = "the body\n" };
        using var client = new SmtpClient { Timeout = 15_000 };
        await client.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.None);
        await client.SendAsync(m, MailboxAddress.Parse(sender), [MailboxAddress.Parse(rcpt)]);
        await client.DisconnectAsync(true);
    }

    private static string HeldFolder(Smtp.ServerFixture server) =>
        Directory.GetDirectories(Path.Combine(server.DataPath, "domains"), "held", SearchOption.AllDirectories)
            .Single(d => d.Contains("/.lists/team/", StringComparison.Ordinal));

    private static string HeldState(string file) =>
        Encoding.UTF8.GetString(File.ReadAllBytes(file)).Split('\n').Single(l => l.StartsWith("state: ", StringComparison.Ordinal))[7..];

    /// <summary>The moderation request the moderator got (the newest): its accept and reject addresses.</summary>
    private static (string Accept, string Reject, MimeMessage Request) Request(Smtp.ServerFixture server)
    {
        var request = Mail(server, "mod@hosted.test").Last(m => m.Subject == "MODERATE for team@hosted.test");
        var accept = Assert.Single(request.ReplyTo.Mailboxes).Address;
        var reject = System.Text.RegularExpressions.Regex.Match(request.TextBody ?? "", @"team-reject-\S+@hosted\.test").Value;
        return (accept, reject, request);
    }

    [Fact]
    public async Task A_held_post_goes_to_the_moderators_accept_posts_it_once_and_reject_tells_the_poster()
    {
        await using var sink = new TestMta();
        await using var server = await ModeratedAsync(sink);
        await MailKitSendAsync(server, "rob@remote.test", "team@hosted.test", "please post");
        await SettleAsync(server);
        Assert.Empty(Mail(server, "joe@hosted.test"));
        Assert.Empty(sink.Received);
        var (accept, reject, request) = Request(server);
        Assert.Matches(@"^team-accept-[0-9a-f]+_0\.\d+\.[0-9a-f]{20}@hosted\.test$", accept);
        Assert.Matches(@"^team-reject-[0-9a-f]+_0\.\d+\.[0-9a-f]{20}$", reject[..reject.IndexOf('@')]);
        Assert.Equal("please post", request.BodyParts.OfType<MessagePart>().Single().Message!.Subject);
        var held = Assert.Single(Directory.GetFiles(HeldFolder(server)));
        Assert.Equal("held", HeldState(held));

        // A forged cookie (one hex digit changed) and the reject address of another ID do nothing.
        var forged = accept[..(accept.IndexOf('@') - 1)] + (accept[accept.IndexOf('@') - 1] == '0' ? '1' : '0') + accept[accept.IndexOf('@')..];
        await MailKitSendAsync(server, "mod@hosted.test", forged, "ok");
        await SettleAsync(server);
        Assert.Empty(Mail(server, "joe@hosted.test"));
        Assert.Single(Lines(server, "list moderation refused "), l => l.Contains("does not match", StringComparison.Ordinal));

        // Accept, twice (two moderators answering, or one twice): one post, number 1.
        await MailKitSendAsync(server, "mod@hosted.test", accept, "Re: MODERATE");
        await SettleAsync(server);
        await MailKitSendAsync(server, "mod@hosted.test", accept, "Re: MODERATE again");
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        foreach (var user in new[] { "joe@hosted.test", "amy@hosted.test" })
        {
            var copy = Assert.Single(Mail(server, user));
            Assert.Equal("please post", copy.Subject);
            Assert.Equal("1", copy.Headers["X-Mailward-List-Number"]);
            Assert.Equal("rob@remote.test", copy.From.Mailboxes.Single().Address);
        }
        Assert.Equal("team-return-1-rob=remote.test@hosted.test", Assert.Single(sink.Received).Sender);
        Assert.Equal("accepted", HeldState(held));
        Assert.Single(Lines(server, "list post id="));
        // The reject address of an accepted post changes nothing.
        await MailKitSendAsync(server, "mod@hosted.test", reject, "no");
        await SettleAsync(server);
        Assert.Equal("accepted", HeldState(held));
        Assert.Single(sink.Received);

        // A second post, rejected: the poster is told, nobody gets it.
        await MailKitSendAsync(server, "stranger@remote.test", "team@hosted.test", "buy now");
        await SettleAsync(server);
        var second = Request(server);
        Assert.NotEqual(accept, second.Accept);
        await MailKitSendAsync(server, "mod@hosted.test", second.Reject, "no");
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        var notice = sink.Received.ElementAt(1);
        Assert.Equal(["stranger@remote.test"], notice.Recipients);
        Assert.Equal("your post to team@hosted.test was not accepted", Parse(notice).Subject);
        Assert.Single(Mail(server, "joe@hosted.test"));
        // Its accept address now does nothing either.
        await MailKitSendAsync(server, "mod@hosted.test", second.Accept, "ok after all?");
        await SettleAsync(server);
        Assert.Single(Mail(server, "joe@hosted.test"));
        Assert.Equal(2, sink.Received.Count);
        Assert.Equal(["accepted", "rejected"], Directory.GetFiles(HeldFolder(server)).Order(StringComparer.Ordinal).Select(HeldState));
    }

    [Fact]
    public async Task Moderators_post_at_once_and_a_list_without_moderators_refuses()
    {
        await using var sink = new TestMta();
        await using var server = await ModeratedAsync(sink);
        await MailKitSendAsync(server, "mod@hosted.test", "team@hosted.test", "from the moderator");
        await SettleAsync(server);
        Assert.Equal(["from the moderator"], Mail(server, "amy@hosted.test").Select(m => m.Subject));
        await CliAsync(server, "list", "moderators", "team@hosted.test", "del", "mod@hosted.test");
        await MailKitSendAsync(server, "rob@remote.test", "team@hosted.test", "nobody to hold it for");
        await SettleAsync(server);
        Assert.Single(Lines(server, "list post refused "), l => l.Contains("has no moderators", StringComparison.Ordinal));
    }

    private static void WriteFramed(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var body = Encoding.UTF8.GetBytes(text);
        File.WriteAllBytes(path, [.. body, .. Encoding.ASCII.GetBytes($"END {System.IO.Hashing.Crc32.HashToUInt32(body):x8}\n")]);
    }

    [Theory]
    [InlineData("begun")] // the accept's copies never committed: queued once, with the number taken
    [InlineData("queued")] // the copies committed, the held file not yet rewritten: nothing queued again
    public async Task An_accept_after_a_crash_in_the_middle_of_an_accept_posts_once(string state)
    {
        await using var sink = new TestMta();
        await using var server = await ModeratedAsync(sink);
        await MailKitSendAsync(server, "rob@remote.test", "team@hosted.test", "held");
        await SettleAsync(server);
        var held = Assert.Single(Directory.GetFiles(HeldFolder(server)));
        var source = Encoding.UTF8.GetString(File.ReadAllBytes(held)).Split('\n').Single(l => l.StartsWith("source: ", StringComparison.Ordinal))[8..];
        // What a killed accept left: archive/0/1, fanout/1 naming the held post's delivery, num 1; held/ID still "held".
        var list = Path.GetDirectoryName(HeldFolder(server))!;
        var original = "From: rob@remote.test\r\nSubject: held\r\n\r\nthe body\r\n";
        WriteFramed(Path.Combine(list, "archive", "0", "1"),
            $"mailward-list-post 1\nnumber: 1\nsource: {source}\nsender: rob@remote.test\nreceived: 0\nlength: {original.Length}\n\n{original}");
        WriteFramed(Path.Combine(list, "fanout", "1"), $"mailward-list-fanout 1\nsource: {source}\nqueue: 0000000000000001\nstate: {state}\n");
        WriteFramed(Path.Combine(list, "num"), "mailward-list-num 1\nlast: 1\n");

        await MailKitSendAsync(server, "mod@hosted.test", Request(server).Accept, "ok");
        await SettleAsync(server);
        Assert.Equal("accepted", HeldState(held));
        Assert.Contains("last: 1\n", File.ReadAllText(Path.Combine(list, "num")));
        Assert.Single(Directory.GetFiles(Path.Combine(list, "fanout")));
        if (state == "begun")
        {
            await sink.WaitForAsync(1);
            await SettleAsync(server);
            var copy = Assert.Single(Mail(server, "joe@hosted.test"));
            Assert.Equal("1", copy.Headers["X-Mailward-List-Number"]);
            Assert.Equal("team-return-1-rob=remote.test@hosted.test", Assert.Single(sink.Received).Sender);
            Assert.Contains("state: queued\n", File.ReadAllText(Path.Combine(list, "fanout", "1")));
        }
        else
        {
            Assert.Empty(Mail(server, "joe@hosted.test"));
            Assert.Empty(sink.Received);
        }
    }
}
