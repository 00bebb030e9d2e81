// RCPT harvesting (issue 18, item 8): a stranger pipelines thousands of guessed recipients to learn
// which users exist. Rejected recipients count toward Smtp:SoftErrorLimit (then a growing delay)
// and Smtp:HardErrorLimit (then 421 and the connection closes), as Postfix's error limits do.
using System.Diagnostics;
using System.Text;
using Mailward.Tests.Support;

namespace Mailward.Tests.Smtp;

public class RecipientHarvestTests
{
    [Fact]
    public async Task A_stranger_pipelining_guessed_recipients_is_slowed_then_cut_off_with_421()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test"],
            "--Smtp:SoftErrorLimit=3", "--Smtp:HardErrorLimit=10", "--Smtp:ErrorDelayMilliseconds=100");
        await using var tcp = await server.ConnectAsync("127.0.0.9");
        var r = new ReplyReader(tcp);
        Assert.StartsWith("220", await r.ReadLineAsync());

        // The audit's harvest: 2,000 guesses with the real users among them, all in one write.
        var guesses = Enumerable.Range(0, 2000).Select(i => $"guess{i}@hosted.test").ToList();
        guesses.Insert(4, "joe@hosted.test");
        guesses.Insert(1500, "ann@hosted.test");
        var script = new StringBuilder("EHLO harvester.test\r\nMAIL FROM:<h@remote.test>\r\n");
        foreach (var g in guesses)
            script.Append("RCPT TO:<").Append(g).Append(">\r\n");
        var sw = Stopwatch.StartNew();
        var send = Task.Run(async () =>
        {
            try
            {
                await tcp.WriteAsync(Encoding.ASCII.GetBytes(script.ToString()));
            }
            catch (IOException)
            {
                // the server hung up with our guesses still unread: that is the point
            }
        });

        string? line;
        while ((line = await r.ReadLineAsync()) is not null && line.StartsWith("250-", StringComparison.Ordinal))
        {
        }
        Assert.StartsWith("250", line); // the end of EHLO
        Assert.StartsWith("250", await r.ReadLineAsync()); // MAIL
        var answered = new List<string>();
        while ((line = await r.ReadLineAsync()) is not null && !line.StartsWith("421", StringComparison.Ordinal))
            answered.Add(line);
        var elapsed = sw.Elapsed;
        await send;

        Assert.Equal("421 4.7.0 Error: too many errors; closing connection", line);
        Assert.Equal(11, answered.Count); // 10 rejections (the hard limit) and joe's 250; ann was never reached
        Assert.Equal(10, answered.Count(a => a.StartsWith("550 5.1.1", StringComparison.Ordinal)));
        Assert.Equal("250 2.1.5 Ok", answered[4]);
        Assert.Null(await r.ReadLineAsync()); // closed
        // Rejections 4 to 9 waited 1, 2, ... 6 delay steps of 100 ms: at least 2.1 s in all (a lower bound only).
        Assert.True(elapsed >= TimeSpan.FromSeconds(2), $"took {elapsed}");
        Assert.True(elapsed < TimeSpan.FromSeconds(30), $"took {elapsed}");
        Assert.Contains(server.Log, l => l.Contains("client=127.0.0.9: 10 rejected recipients reached Smtp:HardErrorLimit", StringComparison.Ordinal));
    }
}
