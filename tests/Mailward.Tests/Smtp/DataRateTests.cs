// Smtp:MinDataRateBytesPerSecond over real sockets: a client dripping its message is cut off with
// 451 4.4.2 soon after the grace period and nothing is queued, while a slow but steady client (and
// one that stalls within the grace period) gets its 250.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Mailward.Tests.Support;

namespace Mailward.Tests.Smtp;

public class DataRateTests
{
    // 100 bytes a second after 1 second of grace; the command timeout stays at its 20 minutes.
    private static readonly string[] Settings = ["--Smtp:MinDataRateBytesPerSecond=100", "--Smtp:MinDataRateGraceSeconds=1"];

    /// <summary>Greeting, EHLO, MAIL, RCPT and DATA, each answered; returns at the 354.</summary>
    private static async Task<ReplyReader> StartDataAsync(NetworkStream s)
    {
        var r = new ReplyReader(s);
        Assert.StartsWith("220 ", await r.ReadLineAsync());
        await s.WriteAsync("EHLO client.test\r\n"u8.ToArray());
        while ((await r.ReadLineAsync())!.StartsWith("250-", StringComparison.Ordinal))
        {
        }
        foreach (var (command, reply) in new[] { ("MAIL FROM:<a@remote.test>", "250 "), ("RCPT TO:<joe@hosted.test>", "250 "), ("DATA", "354 ") })
        {
            await s.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
            Assert.StartsWith(reply, await r.ReadLineAsync());
        }
        return r;
    }

    [Fact]
    public async Task A_client_dripping_its_message_is_cut_off_and_nothing_is_queued()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], Settings);
        await using var s = await server.ConnectAsync("127.0.0.9");
        var r = await StartDataAsync(s);
        var sw = Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        // Three bytes a second: each read comes well inside the command timeout, the average does not.
        var drip = Task.Run(async () =>
        {
            var text = Encoding.ASCII.GetBytes("Subject: drip\r\n\r\n" + new string('x', 200) + "\r\n.\r\n");
            try
            {
                foreach (var b in text)
                {
                    await s.WriteAsync(new[] { b }, stop.Token);
                    await Task.Delay(300, stop.Token);
                }
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                // cut off, as it should be
            }
        });
        Assert.Equal("451 4.4.2 Error: message data arrives too slowly; closing connection", await r.ReadLineAsync());
        Assert.Null(await r.ReadLineAsync());
        var cutAfter = sw.Elapsed;
        await stop.CancelAsync();
        await drip;
        // The grace second plus the few bytes' worth (a handful at 100 a second): far below the 20 minutes.
        Assert.InRange(cutAfter.TotalSeconds, 0.9, 10);
        Assert.Empty(server.Messages);
        Assert.Contains(server.Log, l => l.Contains("result=data below Smtp:MinDataRateBytesPerSecond", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_slow_but_steady_client_gets_its_message_queued()
    {
        // Three seconds of grace here, so a loaded machine's late timers (the 0.7 s stall taking over
        // a second) do not turn a steady client into a slow one.
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Smtp:MinDataRateBytesPerSecond=100", "--Smtp:MinDataRateGraceSeconds=3");
        await using var s = await server.ConnectAsync("127.0.0.9");
        var r = await StartDataAsync(s);
        await Task.Delay(700); // a stall inside the grace period costs nothing
        var text = Encoding.ASCII.GetBytes("Subject: steady\r\n\r\n" + string.Concat(Enumerable.Repeat(new string('y', 70) + "\r\n", 20)) + ".\r\n");
        // 150 bytes every quarter second: 600 a second, six times the minimum, for about 2.5 seconds.
        for (var i = 0; i < text.Length; i += 150)
        {
            await s.WriteAsync(text.AsMemory(i, Math.Min(150, text.Length - i)));
            await Task.Delay(250);
        }
        Assert.StartsWith("250 ", await r.ReadLineAsync());
        Assert.Single(server.Messages);
    }
}
