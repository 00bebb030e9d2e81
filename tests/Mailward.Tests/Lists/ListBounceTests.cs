// Bounce handling as ezmlm-warn over real sockets with a driven clock (docs/lists.md, "Bounces"):
// a test MTA answers 550 for one subscriber always and for another only at first; after
// Lists:BounceDays of bounces both are warned with the posts they missed, that many days later the
// one still bouncing is probed and, the probe bouncing, unsubscribed; the other's record goes. Also
// bounces sent straight to the VERP return addresses, the crash states of bounce/H, and the bounce
// timer warning and probing a list nobody posts to.
using System.Security.Cryptography;
using System.Text;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using static Mailward.Tests.Lists.ListTestMail;

namespace Mailward.Tests.Lists;

public class ListBounceTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>A server whose bounce timer is off: the looks after posts and bounces alone are tested.</summary>
    private static Task<ServerFixture> StartWithoutTimerAsync(TestMta sink, TimeProvider time) =>
        ServerFixture.StartAsync(Users, time, "--Delivery:Enabled=true", $"--Remote:Routes:remote.test={sink.Endpoint}", "--Lists:BounceCheckMinutes=0");

    [Fact]
    public async Task A_subscriber_bouncing_for_ten_days_is_warned_then_probed_and_the_bounced_probe_unsubscribes()
    {
        var clock = new FakeTimeProvider(Start);
        var samBroken = true;
        await using var sink = new TestMta
        {
            RcptReply = r => r.Contains("rob@", StringComparison.Ordinal) || (Volatile.Read(ref samBroken) && r.Contains("sam@", StringComparison.Ordinal))
                ? "550 5.1.1 no such user" : "250 ok",
        };
        await using var server = await StartWithoutTimerAsync(sink, clock);
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test", "rob@remote.test", "sam@remote.test");

        await SendAsync(server, "friend@remote.test", "team@hosted.test", "one");
        await SettleAsync(server);
        Assert.Equal(2, Lines(server, "list bounce id=").Count(l => l.Contains("number=1 ", StringComparison.Ordinal)));
        Assert.Empty(Lines(server, "list bounce warning "));

        // Nine days on: not yet.
        clock.Advance(TimeSpan.FromDays(9));
        Volatile.Write(ref samBroken, false); // sam's mailbox works again
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "two");
        await SettleAsync(server);
        Assert.Empty(Lines(server, "list bounce warning "));

        // Ten days after the first bounce: the next post's look warns both, with what they missed.
        clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromMinutes(1));
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "three");
        await SettleAsync(server);
        Assert.Single(Lines(server, "list bounce warning "), l => l.EndsWith("subscriber=<rob@remote.test> missed=1 2", StringComparison.Ordinal));
        Assert.Single(Lines(server, "list bounce warning "), l => l.EndsWith("subscriber=<sam@remote.test> missed=1", StringComparison.Ordinal));
        // sam got the warning (rob's bounced, to team-return-warn-rob=remote.test@, and counts as a bounce after it).
        var warning = sink.Received.Single(m => m.Sender == "team-return-warn-sam=remote.test@hosted.test");
        Assert.Equal(["sam@remote.test"], warning.Recipients);
        Assert.Contains("team-get.N@hosted.test", Parse(warning).TextBody);
        Assert.Single(Lines(server, "list bounce id="), l => l.Contains("number=warn subscriber=<rob@remote.test>", StringComparison.Ordinal));
        Assert.Equal(["joe@hosted.test", "rob@remote.test", "sam@remote.test"], await SubscribersAsync(server));

        // Ten days after the warning: rob is probed (its probe bounces: unsubscribed); sam's record goes.
        clock.Advance(TimeSpan.FromDays(10) + TimeSpan.FromMinutes(1));
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "four");
        await SettleAsync(server);
        Assert.Single(Lines(server, "list bounce probe "), l => l.EndsWith("subscriber=<rob@remote.test>", StringComparison.Ordinal));
        Assert.Single(Lines(server, "list unsubscribed after a bounced probe "), l => l.EndsWith("subscriber=<rob@remote.test>", StringComparison.Ordinal));
        Assert.Single(Lines(server, "list bounce record removed "), l => l.Contains("subscriber=<sam@remote.test> reason=nothing bounced since the warning", StringComparison.Ordinal));
        Assert.Equal(["joe@hosted.test", "sam@remote.test"], await SubscribersAsync(server));
        Assert.DoesNotContain(Lines(server, "list bounce probe "), l => l.Contains("sam@", StringComparison.Ordinal));
        Assert.Equal(4, Mail(server, "joe@hosted.test").Count);
    }

    [Fact]
    public async Task The_bounce_timer_warns_and_probes_a_quiet_list_and_the_bounced_probe_unsubscribes()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta { RcptReply = r => r.Contains("rob@", StringComparison.Ordinal) ? "550 5.1.1 no such user" : "250 ok" };
        await using var server = await StartAsync(sink, clock); // Lists:BounceCheckMinutes: 60
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "add", "quiet@hosted.test"); // no bounce records: not looked at
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test", "rob@remote.test");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "the only post");
        await SettleAsync(server);
        Assert.Single(Lines(server, "list bounce id="), l => l.Contains("number=1 subscriber=<rob@remote.test>", StringComparison.Ordinal));

        // Nine days of hourly looks: a round per tick, nothing due yet.
        clock.Advance(TimeSpan.FromDays(9));
        await TimerLinesAsync(server, 1);
        Assert.All(Lines(server, "list bounce timer "), l => Assert.Equal("list bounce timer lists=1 warnings=0 probes=0", l));
        Assert.Empty(Lines(server, "list bounce warning "));

        // Ten days after the bounce, with no post and no bounce to look: the timer warns rob (the
        // warning bounces too: recorded as a bounce after the warning).
        clock.Advance(TimeSpan.FromDays(1) + TimeSpan.FromHours(1));
        await TimerLinesAsync(server, 1, "list bounce timer lists=1 warnings=1 probes=0");
        await SettleAsync(server);
        Assert.Single(Lines(server, "list bounce warning "), l => l.EndsWith("list=<team@hosted.test> subscriber=<rob@remote.test> missed=1", StringComparison.Ordinal));
        Assert.Single(Lines(server, "list bounce id="), l => l.Contains("number=warn subscriber=<rob@remote.test>", StringComparison.Ordinal));
        Assert.Empty(Lines(server, "list bounce probe "));
        Assert.Equal(["joe@hosted.test", "rob@remote.test"], await SubscribersAsync(server));

        // Ten days after the warning: the probe; its bounce unsubscribes rob and removes his record.
        clock.Advance(TimeSpan.FromDays(10) + TimeSpan.FromHours(1));
        await TimerLinesAsync(server, 1, "list bounce timer lists=1 warnings=0 probes=1");
        await SettleAsync(server);
        Assert.Single(Lines(server, "list bounce probe "), l => l.EndsWith("subscriber=<rob@remote.test>", StringComparison.Ordinal));
        Assert.Single(Lines(server, "list unsubscribed after a bounced probe "), l => l.EndsWith("subscriber=<rob@remote.test>", StringComparison.Ordinal));
        Assert.Equal(["joe@hosted.test"], await SubscribersAsync(server));
        Assert.Empty(Directory.GetFiles(BounceFolder(server)));
        Assert.Single(Mail(server, "joe@hosted.test")); // the one post: nothing else moved the list
        Assert.Empty(sink.Received); // rob's copy, warning and probe were all refused at RCPT

        // With no records left the timer's rounds look at no list.
        var rounds = Lines(server, "list bounce timer ").Count();
        clock.Advance(TimeSpan.FromHours(1));
        await TimerLinesAsync(server, rounds + 1);
        Assert.Equal("list bounce timer lists=0 warnings=0 probes=0", Lines(server, "list bounce timer ").Last());
    }

    /// <summary>Waits until the bounce timer has logged <paramref name="count"/> rounds starting <paramref name="start"/> (it runs beside the test, after the clock moved).</summary>
    private static async Task TimerLinesAsync(ServerFixture server, int count, string start = "list bounce timer ")
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (Lines(server, start).Count() < count)
        {
            Assert.True(DateTime.UtcNow < until, $"the bounce timer logged {Lines(server, start).Count()} lines starting \"{start}\", not {count}\n" + string.Join("\n", server.Log.TakeLast(30)));
            await Task.Delay(20);
        }
    }

    private static string BounceFolder(ServerFixture server) => Path.Combine(server.DataPath, "domains", "hosted.test", ".lists", "team", "bounce");

    /// <summary>bounce/H as docs/lists.md names it: the first 20 hex digits of the address's SHA-256.</summary>
    private static string BounceFile(ServerFixture server, string address) =>
        Path.Combine(BounceFolder(server), Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(address)))[..20]);

    private static void WriteFramed(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var body = Encoding.UTF8.GetBytes(text);
        File.WriteAllBytes(path, [.. body, .. Encoding.ASCII.GetBytes($"END {System.IO.Hashing.Crc32.HashToUInt32(body):x8}\n")]);
    }

    private static long Unix(DateTimeOffset t) => t.ToUnixTimeSeconds();

    [Fact]
    public async Task Bounces_sent_to_the_return_addresses_are_recorded_once_per_post_and_a_probe_bounce_unsubscribes()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, clock);
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test", "rob@remote.test");

        // The same bounce twice (a redelivery after a crash looks the same): post 1 is missed once.
        await SendAsync(server, "", "team-return-1-rob=remote.test@hosted.test", "Undelivered Mail", from: "MAILER-DAEMON@remote.test");
        await SendAsync(server, "", "team-return-1-rob=remote.test@hosted.test", "Undelivered Mail", from: "MAILER-DAEMON@remote.test");
        await SettleAsync(server); // delivered (and timed) before the clock moves
        clock.Advance(TimeSpan.FromHours(1));
        await SendAsync(server, "", "team-return-3-rob=remote.test@hosted.test", "Undelivered Mail", from: "MAILER-DAEMON@remote.test");
        // Not a subscriber, and no subscriber named: nothing recorded, nothing deferred.
        await SendAsync(server, "", "team-return-2-nobody=remote.test@hosted.test", "Undelivered Mail", from: "MAILER-DAEMON@remote.test");
        await SendAsync(server, "", "team-return-junk@hosted.test", "Undelivered Mail", from: "MAILER-DAEMON@remote.test");
        await SettleAsync(server);
        var record = File.ReadAllText(BounceFile(server, "rob@remote.test"));
        Assert.StartsWith($"mailward-list-bounce 1\naddress: rob@remote.test\nfirst: {Unix(Start)}\nlast: {Unix(Start) + 3600}\nmissed: 1 3\nwarned: 0\nsince: 0\nprobe: 0\nEND ", record);
        Assert.Single(Directory.GetFiles(BounceFolder(server)));
        Assert.Empty(sink.Received); // nothing is ever sent back to a bounce

        await SendAsync(server, "", "team-return-probe-rob=remote.test@hosted.test", "Undelivered Mail", from: "MAILER-DAEMON@remote.test");
        await SettleAsync(server);
        Assert.Equal(["joe@hosted.test"], await SubscribersAsync(server));
        Assert.Empty(Directory.GetFiles(BounceFolder(server)));
        Assert.Single(Lines(server, "list unsubscribed after a bounced probe "), l => l.EndsWith("subscriber=<rob@remote.test>", StringComparison.Ordinal));
        Assert.Empty(sink.Received);
    }

    [Fact]
    public async Task A_crash_between_the_warning_and_its_record_sends_the_warning_again_and_a_torn_rewrite_is_ignored()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, clock);
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test", "rob@remote.test");
        // What a crash after the warning's commit left: bounce/H still says warned 0, and a torn
        // bounce/H.tmp of the rewrite that never reached its rename.
        var file = BounceFile(server, "rob@remote.test");
        WriteFramed(file, $"mailward-list-bounce 1\naddress: rob@remote.test\nfirst: {Unix(Start) - 11 * 86400}\nlast: {Unix(Start) - 86400}\nmissed: 1 2\nwarned: 0\nsince: 0\nprobe: 0\n");
        File.WriteAllText(file + ".tmp", "mailward-list-bounce 1\naddress: rob@rem");

        await SendAsync(server, "friend@remote.test", "team@hosted.test", "three");
        await SettleAsync(server);
        Assert.Single(Mail(server, "joe@hosted.test"));
        var warning = Assert.Single(sink.Received, m => m.Sender == "team-return-warn-rob=remote.test@hosted.test");
        Assert.Equal(["rob@remote.test"], warning.Recipients);
        Assert.Contains("1 2", Parse(warning).TextBody);
        Assert.Contains($"\nwarned: {Unix(Start)}\nsince: 0\nprobe: 0\n", File.ReadAllText(file));
        Assert.False(File.Exists(file + ".tmp")); // the next rewrite replaced it
        Assert.DoesNotContain(Lines(server, "list damaged "), _ => true);

        // The record says warned now: the next post does not warn again.
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "four");
        await SettleAsync(server);
        Assert.Single(sink.Received, m => m.Sender.StartsWith("team-return-warn-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_damaged_bounce_record_is_left_alone_and_does_not_stop_the_posts()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, clock);
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test", "rob@remote.test");
        var file = BounceFile(server, "rob@remote.test");
        WriteFramed(file, $"mailward-list-bounce 1\naddress: rob@remote.test\nfirst: {Unix(Start) - 11 * 86400}\nlast: 0\nmissed: 1\nwarned: 0\nsince: 0\nprobe: 0\n");
        var bytes = File.ReadAllBytes(file);
        bytes[30] ^= 0x20; // a changed byte: the END checksum fails
        File.WriteAllBytes(file, bytes);

        await SendAsync(server, "friend@remote.test", "team@hosted.test", "one");
        await SettleAsync(server);
        Assert.Single(Mail(server, "joe@hosted.test"));
        await sink.WaitForAsync(1);
        Assert.Equal("team-return-1-rob=remote.test@hosted.test", Assert.Single(sink.Received).Sender); // the copy; no warning from a guess
        Assert.Single(Lines(server, "list damaged "), l => l.Contains(file, StringComparison.Ordinal));
        Assert.Equal(bytes, File.ReadAllBytes(file));
    }
}
