// The door's per-client limits over real sockets (Postfix's anvil, postscreen's pregreet test):
// strangers connect from 127.0.0.9 and up, the server runs on a clock the test moves, and each
// limit is answered as Postfix answers it: 421 4.7.0 for connections (then closed), 450 4.7.1 at
// MAIL and RCPT; a new minute starts the counts again; relay clients are exempt; a client that talks
// before the greeting is refused with 554 5.5.1 and a silent one is greeted.
using System.Net;
using Mailward.Core.RateLimit;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.RateLimit;

public sealed class DoorLimitTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);

    private static Task<ServerFixture> Server(ManualTimeProvider clock, params string[] settings) =>
        ServerFixture.StartAsync(["user joe@hosted.test"], clock, ["--Smtp:GreetDelayMilliseconds=0", .. settings]);

    private static async Task<string> Greeting(ServerFixture server, string from)
    {
        await using var stream = await server.ConnectAsync(from);
        return await new ReplyReader(stream).ReadLineAsync() ?? "<closed>";
    }

    [Fact]
    public async Task Connections_over_the_rate_get_421_until_the_minute_is_over()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await Server(clock, "--Smtp:MaxConnectionsPerMinutePerClient=3");
        for (var i = 0; i < 3; i++)
            Assert.StartsWith("220 mail.test ESMTP", await Greeting(server, "127.0.0.9"));
        await using (var stream = await server.ConnectAsync("127.0.0.9"))
        {
            var reader = new ReplyReader(stream);
            Assert.Equal("421 4.7.0 Error: too many connections from 127.0.0.9; try again later", await reader.ReadLineAsync());
            Assert.Null(await reader.ReadLineAsync()); // closed
        }
        Assert.StartsWith("220 ", await Greeting(server, "127.0.0.10")); // another client has its own count
        Assert.StartsWith("220 ", await Greeting(server, "127.0.0.1")); // a relay client is exempt
        clock.Advance(TimeSpan.FromSeconds(59));
        Assert.StartsWith("421 4.7.0", await Greeting(server, "127.0.0.9")); // still the same minute
        clock.Advance(TimeSpan.FromSeconds(61));
        Assert.StartsWith("220 ", await Greeting(server, "127.0.0.9")); // a new minute
        Assert.Contains(server.Log, l => l.Contains("ratelimit client=127.0.0.9 group=127.0.0.9 event=Connection limit=3/min refused", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Messages_over_the_rate_get_450_at_MAIL()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await Server(clock, "--Smtp:MaxMessagesPerMinutePerClient=2");
        await using var talk = await SmtpTalk.OpenAsync(server, "127.0.0.9");
        Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<a@remote.test>"));
        Assert.StartsWith("250", await talk.SendAsync("RSET"));
        Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<a@remote.test>"));
        Assert.StartsWith("250", await talk.SendAsync("RSET"));
        Assert.Equal("450 4.7.1 Error: too much mail from 127.0.0.9; try again later", await talk.SendAsync("MAIL FROM:<a@remote.test>"));
        Assert.StartsWith("503", await talk.SendAsync("RCPT TO:<joe@hosted.test>")); // no transaction began
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<a@remote.test>"));
        await using var relay = await SmtpTalk.OpenAsync(server, "127.0.0.1");
        for (var i = 0; i < 4; i++)
        {
            Assert.StartsWith("250", await relay.SendAsync("MAIL FROM:<a@remote.test>"));
            Assert.StartsWith("250", await relay.SendAsync("RSET"));
        }
    }

    [Fact]
    public async Task Recipients_over_the_rate_get_450_at_RCPT_and_nothing_is_queued_for_them()
    {
        var clock = new ManualTimeProvider(Start);
        await using var server = await Server(clock, "--Smtp:MaxRecipientsPerMinutePerClient=3");
        await using var talk = await SmtpTalk.OpenAsync(server, "127.0.0.9");
        Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<a@remote.test>"));
        var replies = await talk.PipelineAsync(["RCPT TO:<joe@hosted.test>", "RCPT TO:<nobody@hosted.test>", "RCPT TO:<joe@hosted.test>", "RCPT TO:<joe@hosted.test>"]);
        Assert.Equal(["250 2.1.5 Ok", "550 5.1.1 <nobody@hosted.test>: Recipient address rejected: user unknown", "250 2.1.5 Ok",
            "450 4.7.1 Error: too many recipients from 127.0.0.9; try again later"], replies);
        Assert.StartsWith("250", await talk.DataAsync("Subject: one\r\n\r\nhello\r\n"));
        Assert.Equal(["joe@hosted.test"], Assert.Single(server.Messages).Envelope.Recipients);
        Assert.Contains(server.Log, l => l.Contains("rcpt rejected to=<joe@hosted.test> reason=recipient rate", StringComparison.Ordinal));
        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<a@remote.test>"));
        Assert.StartsWith("250", await talk.SendAsync("RCPT TO:<joe@hosted.test>"));
    }

    [Fact]
    public async Task A_client_that_talks_before_the_greeting_is_refused_and_a_patient_one_is_greeted()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Smtp:GreetDelayMilliseconds=400");
        await using (var stream = await server.ConnectAsync("127.0.0.9"))
        {
            await stream.WriteAsync("EHLO spammer.test\r\nMAIL FROM:<a@remote.test>\r\n"u8.ToArray());
            var reader = new ReplyReader(stream);
            Assert.Equal("554 5.5.1 Error: protocol error: you sent before the greeting", await reader.ReadLineAsync());
            Assert.Null(await reader.ReadLineAsync()); // closed, nothing it sent was answered
        }
        Assert.Contains(server.Log, l => l.Contains("early talker client=127.0.0.9: sent before the greeting (within 400 ms)", StringComparison.Ordinal));
        Assert.Contains(server.Log, l => l.Contains("result=talked before the greeting", StringComparison.Ordinal));

        var waited = System.Diagnostics.Stopwatch.StartNew();
        await using (var talk = await SmtpTalk.OpenAsync(server, "127.0.0.10")) // waits for the greeting, then talks
            Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<a@remote.test>"));
        Assert.True(waited.ElapsedMilliseconds >= 390, $"greeted after {waited.ElapsedMilliseconds} ms");

        // A relay client is greeted at once, and may even talk first (local scripts do).
        await using (var stream = await server.ConnectAsync("127.0.0.1"))
        {
            waited.Restart();
            await stream.WriteAsync("EHLO local.test\r\n"u8.ToArray());
            var reader = new ReplyReader(stream);
            Assert.StartsWith("220 mail.test", await reader.ReadLineAsync());
            Assert.StartsWith("250-mail.test", await reader.ReadLineAsync());
            Assert.True(waited.ElapsedMilliseconds < 390, $"greeted after {waited.ElapsedMilliseconds} ms");
        }
    }

    [Fact]
    public async Task A_hangup_during_the_greet_wait_ends_the_session_quietly()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Smtp:GreetDelayMilliseconds=2000");
        await using (var stream = await server.ConnectAsync("127.0.0.9"))
            stream.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        for (var i = 0; i < 100 && !server.Log.Any(l => l.Contains("client=127.0.0.9", StringComparison.Ordinal) && l.Contains(" end ", StringComparison.Ordinal)); i++)
            await Task.Delay(50);
        var end = server.Log.FirstOrDefault(l => l.Contains("client=127.0.0.9", StringComparison.Ordinal) && l.Contains(" end ", StringComparison.Ordinal));
        Assert.True(end?.Contains("result=client disconnected", StringComparison.Ordinal) == true, end ?? "no end line");
    }

    [Fact]
    public void Counts_are_kept_for_a_bounded_number_of_clients_and_IPv6_counts_by_prefix()
    {
        var clock = new ManualTimeProvider(Start);
        var rates = new ClientRates(new DoorLimitOptions { ConnectionsPerMinute = 2, TrackedClients = 100, Ipv6PrefixLength = 64 }, clock);
        for (var i = 0; i < 1000; i++)
            Assert.True(rates.Count(new IPAddress([192, 0, (byte)(i >> 8), (byte)i]), RateEvent.Connection));
        Assert.Equal(100, rates.Tracked);
        // One /64: every address in it shares the count; the next /64 has its own.
        Assert.True(rates.Count(IPAddress.Parse("2001:db8:1:2::1"), RateEvent.Connection));
        Assert.True(rates.Count(IPAddress.Parse("2001:db8:1:2:ffff::9"), RateEvent.Connection));
        Assert.False(rates.Count(IPAddress.Parse("2001:db8:1:2:abcd::1"), RateEvent.Connection));
        Assert.True(rates.Count(IPAddress.Parse("2001:db8:1:3::1"), RateEvent.Connection));
        // An IPv4-mapped address counts as the IPv4 address.
        Assert.True(rates.Count(IPAddress.Parse("198.51.100.7"), RateEvent.Connection));
        Assert.True(rates.Count(IPAddress.Parse("::ffff:198.51.100.7"), RateEvent.Connection));
        Assert.False(rates.Count(IPAddress.Parse("198.51.100.7"), RateEvent.Connection));
        // A wider prefix setting groups more.
        var wide = new ClientRates(new DoorLimitOptions { ConnectionsPerMinute = 1, Ipv6PrefixLength = 48 }, clock);
        Assert.True(wide.Count(IPAddress.Parse("2001:db8:1:2::1"), RateEvent.Connection));
        Assert.False(wide.Count(IPAddress.Parse("2001:db8:1:ff00::1"), RateEvent.Connection));
        Assert.Equal(IPAddress.Parse("2001:db8:1::"), wide.GroupOf(IPAddress.Parse("2001:db8:1:ff00::1")));
    }

    [Fact]
    public void A_limit_of_zero_counts_nothing()
    {
        var rates = new ClientRates(new DoorLimitOptions { ConnectionsPerMinute = 0, MessagesPerMinute = 0, RecipientsPerMinute = 0 }, new ManualTimeProvider(Start));
        for (var i = 0; i < 10_000; i++)
            Assert.True(rates.Count(IPAddress.Loopback, RateEvent.Recipient));
        Assert.Equal(0, rates.Tracked);
    }
}
