// One slow destination must not stop outbound mail (issue 18, item 5): tarpit MTAs on loopback that
// accept and never greet, or answer one line at a time, receive messages and bounces while an
// ordinary destination (another route) still gets its mail at once. Per-destination slots, the
// bounce pool, the greeting timeout, the whole-session deadline and the back-off of mute hosts.
using System.Net.Sockets;
using System.Text;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Delivery;

public class SlowDestinationTests
{
    /// <summary>Queues a message over SMTP with the given envelope (MailKit cannot send the null sender).</summary>
    internal static async Task SendRawAsync(ServerFixture server, string sender, string recipient, string subject)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(server.Smtp);
        var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        async Task<string> Reply()
        {
            string line;
            do
                line = await reader.ReadLineAsync() ?? throw new IOException("server closed");
            while (line.Length > 3 && line[3] == '-');
            return line;
        }
        async Task<string> Command(string text)
        {
            await stream.WriteAsync(Encoding.ASCII.GetBytes(text + "\r\n"));
            return await Reply();
        }
        Assert.StartsWith("220", await Reply());
        Assert.StartsWith("250", await Command("EHLO client.test"));
        Assert.StartsWith("250", await Command($"MAIL FROM:<{sender}>"));
        Assert.StartsWith("250", await Command($"RCPT TO:<{recipient}>"));
        Assert.StartsWith("354", await Command("DATA"));
        Assert.StartsWith("250", await Command($"Subject: {subject}\r\n\r\nbody\r\n."));
        await Command("QUIT");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what, int seconds = 10)
    {
        for (var i = 0; i < seconds * 20 && !condition(); i++)
            await Task.Delay(50);
        Assert.True(condition(), what);
    }

    [Fact]
    public async Task A_tarpit_destination_holds_at_most_its_own_slots_and_other_mail_still_leaves()
    {
        await using var tarpit = new TestMta { GreetingDelay = Timeout.InfiniteTimeSpan };
        await using var good = new TestMta();
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", "--Delivery:RemoteConcurrency=4", "--Delivery:DestinationConcurrency=2",
            "--Remote:GreetingTimeoutSeconds=120", // longer than the test: only the slots can save the good mail
            $"--Remote:Routes:tarpit.test={tarpit.Endpoint}", $"--Remote:Routes:good.test={good.Endpoint}");
        for (var i = 0; i < 8; i++)
            await SendRawAsync(server, "me@hosted.test", $"victim{i}@tarpit.test", $"stuck {i}");
        await WaitUntilAsync(() => tarpit.Open >= 2, "the tarpit never got its connections");
        await Task.Delay(500); // room for more connections, were they allowed

        await SendRawAsync(server, "me@hosted.test", "friend@good.test", "gets through");
        await good.WaitForAsync(1, seconds: 10);
        Assert.Equal(2, tarpit.MostOpen); // Delivery:DestinationConcurrency
    }

    [Fact]
    public async Task Bounces_to_a_tarpit_use_their_own_pool_and_leave_the_ordinary_slots_free()
    {
        await using var tarpit = new TestMta { GreetingDelay = Timeout.InfiniteTimeSpan };
        await using var good = new TestMta();
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", "--Delivery:RemoteConcurrency=2", "--Delivery:DestinationConcurrency=2", "--Delivery:BounceConcurrency=1",
            "--Remote:GreetingTimeoutSeconds=120",
            $"--Remote:Routes:tarpit.test={tarpit.Endpoint}", $"--Remote:Routes:good.test={good.Endpoint}");
        // Backscatter: null-sender mail to the tarpit, as a wave of bounces to forged senders would be.
        for (var i = 0; i < 4; i++)
            await SendRawAsync(server, "", $"forged{i}@tarpit.test", $"bounce {i}");
        await WaitUntilAsync(() => tarpit.Open >= 1, "the tarpit never got a connection");
        await Task.Delay(500);

        await SendRawAsync(server, "me@hosted.test", "friend@good.test", "not behind the bounces");
        await good.WaitForAsync(1, seconds: 10);
        Assert.Equal(1, tarpit.MostOpen); // Delivery:BounceConcurrency
    }

    [Fact]
    public async Task A_host_that_connects_and_never_greets_times_out_at_the_greeting_and_is_then_skipped()
    {
        await using var tarpit = new TestMta { GreetingDelay = Timeout.InfiniteTimeSpan };
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", "--Remote:GreetingTimeoutSeconds=1", $"--Remote:Routes:tarpit.test={tarpit.Endpoint}");
        await SendRawAsync(server, "me@hosted.test", "victim@tarpit.test", "one");
        await WaitUntilAsync(() => server.Manager.Hosts().Count == 1, "the mute host was not recorded", seconds: 8);
        var host = Assert.Single(server.Manager.Hosts());
        Assert.Equal(tarpit.Endpoint, host.Endpoint);
        Assert.Contains("no greeting within 1 s", host.LastError);
        await WaitUntilAsync(() => server.Manager.Status() is [{ Recipients: [{ State: "pending", NextAttempt: not null }] }], "the message was not deferred");

        // The next message does not wait for the tarpit again.
        await SendRawAsync(server, "me@hosted.test", "victim2@tarpit.test", "two");
        await WaitUntilAsync(() => server.Manager.Status().Count == 2 &&
            server.Manager.Status()[1].Recipients[0].LastError.Contains("being skipped", StringComparison.Ordinal), "the second message was not skipped");
        Assert.Equal(1, tarpit.Connections);
    }

    [Fact]
    public async Task A_host_that_answers_one_slow_line_at_a_time_is_cut_off_by_the_session_deadline()
    {
        // Each reply comes well within the data timeout; the conversation as a whole may not take that long.
        await using var trickle = new TestMta { ReplyDelay = TimeSpan.FromMilliseconds(700) };
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", "--Remote:DataTimeoutSeconds=10", "--Remote:SessionTimeoutSeconds=2",
            $"--Remote:Routes:slow.test={trickle.Endpoint}");
        await SendRawAsync(server, "me@hosted.test", "someone@slow.test", "slowly");
        await WaitUntilAsync(() => server.Manager.Status() is [{ Recipients: [{ State: "pending", NextAttempt: not null }] }], "the message was not deferred");
        Assert.Contains("took longer than 2 s (Remote:SessionTimeoutSeconds)", server.Manager.Status()[0].Recipients[0].LastError);
        Assert.Empty(trickle.Received);
    }
}
