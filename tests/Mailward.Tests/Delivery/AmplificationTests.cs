// Recipient amplification (issue 18, item 2), performed by a stranger on 127.0.0.9: repeated
// RCPTs are kept once, recipients that reach one Maildir or one forward address get one copy, and
// a file system short of Queue:MinFreeBytes refuses mail at MAIL with 452 4.3.1.
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Delivery;

public class AmplificationTests
{
    private const string Message = "From: a@remote.test\r\nSubject: many\r\n\r\nhello\r\n";

    private static async Task SendAsync(ServerFixture server, IEnumerable<string> recipients)
    {
        await using var talk = await SmtpTalk.OpenAsync(server);
        var replies = await talk.PipelineAsync(["MAIL FROM:<a@remote.test>", .. recipients.Select(r => $"RCPT TO:<{r}>")]);
        Assert.All(replies, r => Assert.StartsWith("250 ", r));
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await talk.DataAsync(Message));
    }

    [Fact]
    public async Task A_hundred_RCPTs_of_one_user_leave_one_copy_in_its_Maildir()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Delivery:Enabled=true");
        // The same address, written the ways the resolver treats as one.
        await SendAsync(server, Enumerable.Range(0, 100).Select(i => (i % 3) switch { 0 => "joe@hosted.test", 1 => "Joe@HOSTED.test", _ => "JOE@hosted.TEST" }));
        await DeliveryTestMail.SettleAsync(server);
        Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, "joe@hosted.test")));
        Assert.Single(server.Log, l => l.Contains("channel=local result=delivered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Recipients_that_reach_one_Maildir_get_one_copy()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Delivery:Enabled=true");
        // Fifty extensions of joe: fifty recipients, one mailbox (Postfix local(8)'s duplicate elimination).
        await SendAsync(server, Enumerable.Range(0, 50).Select(i => $"joe+{i}@hosted.test"));
        await DeliveryTestMail.SettleAsync(server);
        Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, "joe@hosted.test")));
        Assert.Equal(49, server.Log.Count(l => l.Contains("already has this message", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Fifty_RCPTs_to_an_alias_with_two_remote_lines_send_two_copies()
    {
        await using var mta = new TestMta();
        await using var server = await ServerFixture.StartAsync(
            ["domain hosted.test", "alias list@hosted.test &a@remote.test", "alias list@hosted.test &b@remote.test", "alias other@hosted.test &a@remote.test"],
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}");
        // Fifty times the alias, and another alias that reaches one of its addresses again.
        await SendAsync(server, [.. Enumerable.Repeat("list@hosted.test", 50), "other@hosted.test"]);
        await mta.WaitForAsync(2);
        await DeliveryTestMail.SettleAsync(server);
        await Task.Delay(500); // anything more would have arrived by now
        Assert.Equal(["a@remote.test", "b@remote.test"], mta.Received.SelectMany(m => m.Recipients).Order());
    }

    [Fact]
    public async Task Mail_is_refused_at_MAIL_while_free_space_is_below_Queue_MinFreeBytes()
    {
        // A threshold above any disk's free space: the file system is "full".
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Queue:MinFreeBytes=9000000000000000000");
        await using var talk = await SmtpTalk.OpenAsync(server);
        Assert.Equal("452 4.3.1 Insufficient system storage", await talk.SendAsync("MAIL FROM:<a@remote.test>"));
        Assert.Equal("452 4.3.1 Insufficient system storage", await talk.SendAsync("MAIL FROM:<a@remote.test> SIZE=1000"));
        Assert.StartsWith("503 ", await talk.SendAsync("RCPT TO:<joe@hosted.test>"));
        Assert.StartsWith("250 ", await talk.SendAsync("NOOP")); // the session goes on; the client may try later
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task The_default_free_space_guard_leaves_ordinary_mail_alone_and_counts_the_declared_size()
    {
        var free = new DriveInfo(Path.GetTempPath()).AvailableFreeSpace;
        // Room for the threshold plus a little, but not for a message as large as Smtp:MaxMessageBytes.
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], $"--Queue:MinFreeBytes={free - (1L << 30)}",
            "--Smtp:MaxMessageBytes=2000000000");
        await using var talk = await SmtpTalk.OpenAsync(server);
        Assert.Equal("452 4.3.1 Insufficient system storage", await talk.SendAsync("MAIL FROM:<a@remote.test> SIZE=1900000000"));
        Assert.Equal("250 2.1.0 Ok", await talk.SendAsync("MAIL FROM:<a@remote.test> SIZE=1000"));
    }
}
