// The autoresponder over time, with the server's clock driven by the test: one answer per sender
// per interval, the start and end of the window, two away users answering each other once each
// (the loop ends), and the crash choice: a sender already recorded is not answered again.
using Mailward.Core.Accounts;
using Mailward.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using static Mailward.Tests.Autoresponder.AutoresponderTestMail;

namespace Mailward.Tests.Autoresponder;

public class AutoresponderTimeTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task One_sender_is_answered_once_per_interval_and_again_after_it()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, clock);
        await CliAsync(server, "vacation", "set", "joe@hosted.test", "--text", "Away.", "--interval", "3");
        await SendAsync(server, "friend@remote.test", "joe@hosted.test", Header());
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        clock.Advance(TimeSpan.FromDays(3) - TimeSpan.FromMinutes(1));
        await SendAsync(server, "friend@remote.test", "joe@hosted.test", Header());
        await SendAsync(server, "Friend@Remote.test", "joe@hosted.test", Header()); // the same sender, spelled otherwise
        await SendAsync(server, "other@remote.test", "joe@hosted.test", Header()); // another sender: answered
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        Assert.Equal(["friend@remote.test", "other@remote.test"], sink.Received.Select(m => m.Recipients[0]));
        Assert.Equal(2, Lines(server, "autoreply skipped ").Count(l => l.EndsWith("reason=answered within 3 days", StringComparison.Ordinal)));
        clock.Advance(TimeSpan.FromMinutes(2)); // the interval is over
        await SendAsync(server, "friend@remote.test", "joe@hosted.test", Header());
        await sink.WaitForAsync(3);
        await SettleAsync(server);
        Assert.Equal(3, sink.Received.Count);
        Assert.Equal(5, NewMail(server, "joe@hosted.test"));
    }

    [Fact]
    public async Task Only_between_the_start_and_the_end()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, clock);
        await CliAsync(server, "vacation", "set", "joe@hosted.test", "--text", "Away.", "--no-deliver",
            "--start", "2026-12-02", "--end", "2026-12-04T12:00Z");
        await SendAsync(server, "before@remote.test", "joe@hosted.test", Header());
        await SettleAsync(server);
        Assert.Empty(sink.Received);
        Assert.Equal(1, NewMail(server, "joe@hosted.test")); // before the start: delivered, not answered (no-deliver not yet in force)

        clock.Advance(TimeSpan.FromDays(1)); // 2026-12-02 09:00
        await SendAsync(server, "during@remote.test", "joe@hosted.test", Header());
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        Assert.Equal("during@remote.test", Assert.Single(sink.Received).Recipients[0]);
        Assert.Equal(1, NewMail(server, "joe@hosted.test")); // answered only

        clock.Advance(TimeSpan.FromDays(2) + TimeSpan.FromHours(3)); // 2026-12-04 12:00: the end is exclusive
        await SendAsync(server, "after@remote.test", "joe@hosted.test", Header());
        await SettleAsync(server);
        Assert.Single(sink.Received);
        Assert.Equal(2, NewMail(server, "joe@hosted.test"));
    }

    [Fact]
    public async Task Two_away_users_writing_to_each_other_get_one_answer_each_and_the_loop_ends()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "vacation", "set", "joe@hosted.test", "--text", "Joe is away.");
        await CliAsync(server, "vacation", "set", "amy@hosted.test", "--text", "Amy is away.");
        await SendAsync(server, "joe@hosted.test", "amy@hosted.test",
            "From: joe@hosted.test\r\nTo: amy@hosted.test\r\nSubject: from joe\r\nMessage-ID: <j1@hosted.test>");
        await SendAsync(server, "amy@hosted.test", "joe@hosted.test",
            "From: amy@hosted.test\r\nTo: joe@hosted.test\r\nSubject: from amy\r\nMessage-ID: <a1@hosted.test>");
        await SettleAsync(server);
        await Task.Delay(500);
        await SettleAsync(server);
        // Each has the other's message and the other's one answer; the answers were not answered.
        Assert.Equal(2, NewMail(server, "joe@hosted.test"));
        Assert.Equal(2, NewMail(server, "amy@hosted.test"));
        Assert.Equal(2, Lines(server, "autoreply id=").Count());
        Assert.Equal(2, Lines(server, "autoreply skipped ").Count(l => l.EndsWith("reason=null sender", StringComparison.Ordinal)));
        Assert.Empty(sink.Received);
        var joeMail = Delivery.DeliveryTestMail.NewMail(Delivery.DeliveryTestMail.Maildir(server, "joe@hosted.test"))
            .Select(f => MimeKit.MimeMessage.Load(f).Subject).Order();
        Assert.Equal(["Auto: from joe", "from amy"], joeMail);
    }

    [Fact]
    public async Task A_sender_recorded_before_a_crash_is_not_answered_by_the_retry()
    {
        // The state a crash between the record and the reply's commit leaves: the record exists and
        // nothing is queued. The message's retry delivers (or finds) its copy and answers nothing.
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "vacation", "set", "joe@hosted.test", "--text", "Away.");
        using (var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}"))
        {
            var domain = store.FindDomain("hosted.test")!;
            Assert.True(store.TryRecordReply(domain.Id, "joe", "friend@remote.test", DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddDays(7), 100));
        }
        await SendAsync(server, "friend@remote.test", "joe@hosted.test", Header());
        await SettleAsync(server);
        Assert.Empty(sink.Received);
        Assert.EndsWith("reason=answered within 7 days", Assert.Single(Lines(server, "autoreply skipped ")));
        Assert.Equal(1, NewMail(server, "joe@hosted.test"));
    }
}
