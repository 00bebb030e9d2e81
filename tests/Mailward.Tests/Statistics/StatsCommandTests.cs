// `mailward stats` on the log files a real server wrote during known traffic (issue 17, "What must
// hold"): mail over SMTP to local users, to a remote sink that accepts, to one that refuses for good
// (a DSN back to the local sender) and to one that answers 4xx (deferred, still queued), plus a
// recipient refused at the door; then the command prints those counts, as tables and as JSON.
using System.Text.Json;
using Mailward.Cli;
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Statistics;

public class StatsCommandTests
{
    private static async Task<CliResult> StatsAsync(string data, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = await MailwardCli.RunAsync(["--data", data, "stats", .. args], new CliConsole(new StringReader(""), stdout, stderr, InputRedirected: true));
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The value printed after a label of the overall report.</summary>
    private static string Overall(string text, string label) =>
        text.Split('\n').Single(l => l.StartsWith(label + ":", StringComparison.Ordinal))[(label.Length + 1)..].Trim();

    /// <summary>The cells of the row of table <paramref name="title"/> whose last column is <paramref name="name"/>.</summary>
    private static string[] Row(string text, string title, string name) =>
        text.Split('\n').SkipWhile(l => l != title).Skip(1) // the reports come in the order asked, so the first match is in this table
            .First(l => l.EndsWith("  " + name, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries);

    [Fact]
    public async Task Stats_on_the_log_of_a_run_of_known_traffic_prints_its_counts_as_tables_and_as_json()
    {
        await using var accept = new TestMta();
        await using var refuse = new TestMta { RcptReply = _ => "550 5.1.1 no such user here" };
        await using var later = new TestMta { RcptReply = _ => "451 4.3.0 try again later" };
        var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test", "user me@hosted.test"],
            "--Delivery:Enabled=true", $"--Remote:Routes:accept.test={accept.Endpoint}", $"--Remote:Routes:refuse.test={refuse.Endpoint}",
            $"--Remote:Routes:later.test={later.Endpoint}");
        await using (server)
        {
            for (var i = 0; i < 3; i++)
                await DeliveryTestMail.SendAsync(server, "joe@hosted.test", $"local {i}");
            await DeliveryTestMail.SendAsync(server, "ann@hosted.test", "two", more: ["joe@hosted.test"]);
            await DeliveryTestMail.SendAsync(server, "a@accept.test", "out 1", from: "me@hosted.test");
            await DeliveryTestMail.SendAsync(server, "b@accept.test", "out 2", from: "me@hosted.test");
            await DeliveryTestMail.SendAsync(server, "x@refuse.test", "refused", from: "me@hosted.test");
            await DeliveryTestMail.SendAsync(server, "y@later.test", "deferred", from: "me@hosted.test");
            await using (var talk = await SmtpTalk.OpenAsync(server))
            {
                Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<sender@remote.test>"));
                Assert.StartsWith("550", await talk.SendAsync("RCPT TO:<nobody@hosted.test>"));
                await talk.SendAsync("QUIT");
            }
            await accept.WaitForAsync(2);
            await DeliveryTestMail.SettleAsync(server, left: 1); // the deferred one waits for its retry
            await server.StopAsync(); // keeps the data folder; the last lines are written as the server stops
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(server.DataPath, "log"), "mailward-*.log"));

            var text = (await StatsAsync(server.DataPath, "overall", "failures", "deferrals", "senders", "suids", "domains", "recipients")).Ok().Out;
            Assert.Equal("9", Overall(text, "Messages queued")); // eight over SMTP and one DSN
            Assert.Equal("10", Overall(text, "Recipients queued"));
            Assert.Equal("1", Overall(text, "Recipients refused at the door"));
            Assert.Equal("8", Overall(text, "Completed messages"));
            Assert.Equal("9", Overall(text, "Recipients for completed messages"));
            Assert.Equal("10", Overall(text, "Total delivery attempts"));
            Assert.Equal("8", Overall(text, "  success"));
            Assert.Equal("1", Overall(text, "  failure"));
            Assert.Equal("1", Overall(text, "  deferral"));
            Assert.Equal("6", Overall(text, "  local"));
            Assert.Equal("4", Overall(text, "  remote"));
            Assert.True(text.Split('\n').Any(l => l.TrimStart().StartsWith("1  ", StringComparison.Ordinal) && l.Contains("550 5.1.1 no such user here", StringComparison.Ordinal)), text);
            Assert.True(text.Split('\n').Any(l => l.TrimStart().StartsWith("1  ", StringComparison.Ordinal) && l.Contains("451 4.3.0 try again later", StringComparison.Ordinal)), text);
            Assert.Equal("4", Row(text, "Senders", "sender@remote.test")[0]); // mess
            Assert.Equal("5", Row(text, "Senders", "sender@remote.test")[4]); // recips
            Assert.Equal("4", Row(text, "Senders", "me@hosted.test")[0]);
            Assert.Equal("4", Row(text, "Senders", "me@hosted.test")[5]); // tries: accepted twice, refused, deferred
            Assert.Equal("1", Row(text, "Senders", "<>")[0]);
            Assert.Equal("8", Row(text, "Sending users", "smtp")[0]); // suids: nobody logged in; the DSN is the server's own
            Assert.Equal("1", Row(text, "Sending users", "bounce")[0]);
            Assert.Equal(["6", "6", "0", "0"], Row(text, "Recipient domains", "hosted.test")[..4]);
            Assert.Equal(["2", "2", "0", "0"], Row(text, "Recipient domains", "accept.test")[..4]);
            Assert.Equal(["1", "0", "1", "0"], Row(text, "Recipient domains", "refuse.test")[..4]);
            Assert.Equal(["0", "0", "0", "1"], Row(text, "Recipient domains", "later.test")[..4]);
            Assert.Equal(["4", "4", "0", "0"], Row(text, "Recipients", "joe@hosted.test")[..4]);

            var json = (await StatsAsync(server.DataPath, "--json", "overall", "failures", "domains")).Ok().Out;
            using var doc = JsonDocument.Parse(json);
            var overall = doc.RootElement.GetProperty("overall");
            Assert.Equal(9, overall.GetProperty("messagesQueued").GetInt64());
            Assert.Equal(8, overall.GetProperty("completedMessages").GetInt64());
            Assert.Equal(8, overall.GetProperty("successes").GetInt64());
            Assert.Equal(1, overall.GetProperty("failures").GetInt64());
            Assert.Equal(1, overall.GetProperty("deferrals").GetInt64());
            Assert.Equal(1, overall.GetProperty("recipientsRefused").GetInt64());
            Assert.True(overall.GetProperty("ddelayP99Seconds").GetDouble() >= overall.GetProperty("ddelayP50Seconds").GetDouble());
            var failure = Assert.Single(doc.RootElement.GetProperty("failures").EnumerateArray());
            Assert.Contains("550 5.1.1 no such user here", failure.GetProperty("reason").GetString());
            Assert.Equal(1, failure.GetProperty("del").GetInt64());
            var domains = doc.RootElement.GetProperty("domains").EnumerateArray().ToDictionary(d => d.GetProperty("domain").GetString()!);
            Assert.Equal(6, domains["hosted.test"].GetProperty("success").GetInt64());
            Assert.Equal(1, domains["later.test"].GetProperty("deferral").GetInt64());

            // A window after the run counts nothing; the same log read as a named file counts the same.
            Assert.Equal("0", Overall((await StatsAsync(server.DataPath, "--since", "2099-01-01")).Ok().Out, "Total delivery attempts"));
            var file = Directory.GetFiles(Path.Combine(server.DataPath, "log")).Single();
            Assert.Equal("10", Overall((await StatsAsync(server.DataPath, "--log", file)).Ok().Out, "Total delivery attempts"));
        }
    }

    [Fact]
    public async Task With_log_target_stdout_no_file_is_written_and_stats_says_where_it_looked()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Log:Target=stdout");
        await DeliveryTestMail.SendAsync(server, "joe@hosted.test", "hello");
        await server.StopAsync();
        Assert.False(Directory.Exists(Path.Combine(server.DataPath, "log")));
        var result = await StatsAsync(server.DataPath);
        Assert.Equal(MailwardCli.ExitUsage, result.Code);
        Assert.Contains("no log file or folder", result.Err);
    }

    [Fact]
    public async Task An_unknown_report_or_time_is_a_usage_error()
    {
        using var tmp = new TempFolder();
        Assert.NotEqual(0, (await StatsAsync(tmp.Combine("data"), "--log", tmp.Path, "everything")).Code);
        Assert.Equal(MailwardCli.ExitUsage, (await StatsAsync(tmp.Combine("data"), "--log", tmp.Path, "--since", "last tuesday")).Code);
    }
}
