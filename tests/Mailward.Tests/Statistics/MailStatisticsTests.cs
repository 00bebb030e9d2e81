// The statistics from log lines written by hand: lines of the format before `mailward stats` (no
// xdelay, size or auth) still count, percentiles are nearest-rank, --since/--until cut by the
// line's own time while a message queued earlier still names its sender, and other lines are skipped.
using Mailward.Core.Statistics;
using Mailward.Tests.Support;

namespace Mailward.Tests.Statistics;

public class MailStatisticsTests
{
    private static MailStatistics Read(string text, DateTimeOffset? since = null, DateTimeOffset? until = null)
    {
        using var tmp = new TempFolder();
        var file = tmp.Combine("mailward-2026-03-01.log");
        File.WriteAllText(file, text);
        var stats = new MailStatistics(since, until);
        MailLogReader.Read(MailLogReader.Files([file], since, until), stats);
        return stats;
    }

    [Fact]
    public void Lines_without_the_appended_fields_still_count()
    {
        var s = Read("""
            2026-03-01T10:00:00.000Z info: Mailward.Protocols.Smtp.SmtpSession[2002] smtp 1A queued id=Q1 from=<a@x.test> rcpts=2 size=1000 proto=ESMTP
            2026-03-01T10:00:01.000Z info: Mailward.Core.Delivery.QueueManager[3000] delivery id=Q1 to=<b@hosted.test> channel=local result=delivered detail=delivered to Maildir delay=1.0s
            2026-03-01T10:00:02.000Z info: Mailward.Core.Delivery.QueueManager[3000] delivery id=Q1 to=<c@far.test> channel=remote result=failed detail=550 5.1.1 no such user delay=2.0s
            2026-03-01T10:00:02.500Z info: Mailward.Core.Delivery.QueueManager[3002] bounce id=Q1 dsn=Q2 to=<a@x.test> failed=1
            2026-03-01T10:00:03.000Z info: Mailward.Protocols.Smtp.SmtpSession[2001] smtp 1A end client=127.0.0.1 helo=x tls=none queued=1 rejected_rcpts=0 result=quit
            not a log line at all
            """);
        Assert.Equal(2, s.MessagesQueued); // the message and its DSN
        Assert.Equal(1000, s.BytesQueued);
        Assert.Equal(1, s.Successes);
        Assert.Equal(1, s.Failures);
        Assert.Equal(1, s.LocalAttempts);
        Assert.Equal(1, s.RemoteAttempts);
        Assert.Equal(1000, s.Senders["a@x.test"].SuccessBytes); // size from the queued line
        Assert.Equal(2, s.Senders["a@x.test"].Tries);
        Assert.Equal(1, s.Senders["<>"].Messages);
        Assert.Equal(1, s.Suids["smtp"].Messages);
        Assert.Equal(1, s.FailureReasons["550 5.1.1 no such user"].Deliveries);
        Assert.Equal(6, s.LinesRead);
    }

    [Fact]
    public void Delay_percentiles_are_nearest_rank_over_successful_deliveries()
    {
        var lines = string.Join("\n", Enumerable.Range(1, 10).Select(i =>
            $"2026-03-01T10:00:{i:00}.000Z info: Q[3000] delivery id=Q{i} to=<u{i}@hosted.test> channel=local result=delivered detail=ok delay={i}.0s xdelay=0.250s size=10"))
            + "\n2026-03-01T10:00:30.000Z info: Q[3000] delivery id=Q99 to=<z@hosted.test> channel=local result=deferred detail=4.2.2 over quota delay=99.0s xdelay=0.500s size=10\n";
        var s = Read(lines);
        Assert.Equal(10, s.Successes);
        Assert.Equal(1, s.Deferrals);
        Assert.Equal(5, s.DDelayPercentile(50));
        Assert.Equal(9, s.DDelayPercentile(90));
        Assert.Equal(10, s.DDelayPercentile(99));
        Assert.Equal(55, s.TotalDDelay);
        Assert.Equal(3.0, s.TotalXDelay, 6);
        Assert.Equal("?", Assert.Single(s.Senders).Key); // queued before the log: unknown sender
        Assert.Equal(1, s.DeferralReasons["4.2.2 over quota"].Deliveries);
        Assert.Equal(10, s.Domains["hosted.test"].Successes);
        Assert.Equal(100, s.Domains["hosted.test"].SuccessBytes);
    }

    [Fact]
    public void Since_and_until_count_by_the_lines_time_and_earlier_lines_still_tie_deliveries_to_their_sender()
    {
        var text = """
            2026-03-01T09:00:00.000Z info: S[2002] smtp 1 queued id=Q1 from=<early@x.test> rcpts=1 size=500 proto=ESMTPSA auth=early@x.test
            2026-03-01T11:00:00.000Z info: Q[3000] delivery id=Q1 to=<b@far.test> channel=remote result=delivered detail=250 ok delay=7200.0s xdelay=1.000s size=500
            2026-03-01T11:00:00.000Z info: Q[3005] done id=Q1 rcpts=1 delivered=1 failed=0 qtime=7200.000s
            2026-03-01T13:00:00.000Z info: Q[2003] smtp 2 rcpt rejected to=<nobody@hosted.test> reason=no such user
            """;
        var s = Read(text, new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        Assert.Equal(0, s.MessagesQueued);
        Assert.Equal(0, s.RecipientsRefused);
        Assert.Equal(1, s.Successes);
        Assert.Equal(1, s.Completed);
        Assert.Equal(500, s.CompletedBytes);
        Assert.Equal(500, s.CompletedBytesBySuccess);
        Assert.Equal(1, s.CompletedAttempts);
        Assert.Equal(500, s.Senders["early@x.test"].SuccessBytes);
        Assert.Equal(1, s.Suids["early@x.test"].Tries);
        var all = Read(text);
        Assert.Equal(1, all.MessagesQueued);
        Assert.Equal(1, all.RecipientsRefused);
        Assert.Equal(1, all.RefusalReasons["no such user"].Recipients);
    }

    [Theory]
    [InlineData("2026-03-01", "2026-03-01T00:00:00Z")]
    [InlineData("2026-03-01T06:30Z", "2026-03-01T06:30:00Z")]
    [InlineData("today", "2026-03-05T00:00:00Z")]
    [InlineData("yesterday", "2026-03-04T00:00:00Z")]
    [InlineData("24h", "2026-03-04T12:00:00Z")]
    [InlineData("7d", "2026-02-26T12:00:00Z")]
    public void Times_on_the_command_line(string text, string expected)
    {
        var now = new DateTimeOffset(2026, 3, 5, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Mailward.Cli.StatsCommand.ParseTime(text, now, "--since"));
    }
}
