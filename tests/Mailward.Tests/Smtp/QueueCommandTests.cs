// mailward queue list|stat read what the running server queued (qmail-qread, qmail-qstat).
using Mailward.Core.Accounts;
using Mailward.Tests.Support;

namespace Mailward.Tests.Smtp;

public class QueueCommandTests
{
    [Fact]
    public async Task List_and_stat_show_what_the_running_server_queued()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test"]);
        await using (var tcp = await server.ConnectAsync("127.0.0.9"))
        {
            var t = Transcript.Load(Path.Combine(TranscriptTests.Folder, "pipelining.smtp"));
            await TranscriptHarness.PlayAsync(t, tcp, 0, "socket");
        }
        var id = Assert.Single(server.Messages).QueueId;
        using var runner = new MailwardRunner();
        var list = (await runner.RunWith("", null, "--data", server.DataPath, "queue", "list")).Ok().Out;
        Assert.Contains($"#{id}", list);
        Assert.Contains("<a@remote.test>  ESMTP from 127.0.0.9", list);
        Assert.Contains("\tpending\tjoe@hosted.test", list);
        Assert.Contains("\tpending\tann@hosted.test", list);
        var stat = (await runner.RunWith("", null, "--data", server.DataPath, "queue", "stat")).Ok().Out;
        Assert.Contains("messages in queue: 1", stat);
        Assert.Contains("recipients pending: 2", stat);
    }

    [Fact]
    public async Task List_shows_next_attempt_and_last_error_flush_retries_now_hosts_and_del_act_on_the_running_server()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var mta = new TestMta { DataReply = _ => "451 4.3.0 busy" };
        int deadPort;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            deadPort = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        await using var server = await ServerFixture.StartAsync(["domain hosted.test"], clock, "--Delivery:Enabled=true",
            $"--Remote:Routes:busy.test={mta.Endpoint}", $"--Remote:Routes:dead.test=127.0.0.1:{deadPort}");
        await Delivery.DeliveryTestMail.SendAsync(server, "x@busy.test", "busy");
        await Delivery.DeliveryTestMail.SendAsync(server, "y@dead.test", "dead");
        for (var i = 0; i < 100 && (mta.DataPhases < 1 || server.Manager.Hosts().Count == 0 ||
                                     server.Manager.Status().Any(m => m.Recipients[0].NextAttempt is null)); i++)
            await Task.Delay(50);

        using var runner = new MailwardRunner();
        Task<CliResult> Cli(params string[] args) => runner.RunWith("", null, ["--data", server.DataPath, .. args]);
        var list = (await Cli("queue", "list")).Ok().Out;
        var arrived = server.Queue.Messages.Min(m => m.ArrivedAt);
        Assert.Contains("\tpending\tx@busy.test\tnext ", list);
        Assert.Contains("said: 451 4.3.0 busy", list);
        Assert.Contains("could not connect", list);
        var hosts = (await Cli("queue", "hosts")).Ok().Out;
        Assert.StartsWith($"127.0.0.1:{deadPort}\tfailures 1\tskipped until ", hosts);

        Assert.Contains("2 deferred message(s)", (await Cli("queue", "flush")).Ok().Out);
        for (var i = 0; i < 100 && mta.DataPhases < 2; i++)
            await Task.Delay(50);
        Assert.Equal(2, mta.DataPhases); // retried at once, no clock advanced

        var dead = server.Manager.Status().Single(m => m.Recipients[0].Address == "y@dead.test").QueueId;
        Assert.Contains($"deleted {dead}", (await Cli("queue", "del", dead)).Ok().Out);
        Assert.False(server.Queue.Contains(dead));
        Assert.Equal(40, (await Cli("queue", "del", dead)).Code);
        Assert.Single(server.Queue.Messages);
    }

    [Fact]
    public async Task Without_a_running_server_del_works_on_the_disk_and_flush_says_there_is_no_server()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        await Delivery.DeliveryTestMail.SendAsync(server, "joe@hosted.test", "held");
        var id = Assert.Single(server.Messages).QueueId;
        await server.StopAsync();
        using var runner = new MailwardRunner();
        Task<CliResult> Cli(params string[] args) => runner.RunWith("", null, ["--data", server.DataPath, .. args]);
        Assert.Equal(41, (await Cli("queue", "flush")).Code);
        Assert.Contains($"#{id}", (await Cli("queue", "list")).Ok().Out);
        Assert.Contains($"deleted {id}", (await Cli("queue", "del", id)).Ok().Out);
        Assert.Contains("messages in queue: 0", (await Cli("queue", "stat")).Ok().Out);
    }

    [Fact]
    public async Task Del_is_in_the_audit_log_with_and_without_a_running_server()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        await Delivery.DeliveryTestMail.SendAsync(server, "joe@hosted.test", "first");
        await Delivery.DeliveryTestMail.SendAsync(server, "joe@hosted.test", "second");
        var ids = server.Messages.Select(m => m.QueueId).Order(StringComparer.Ordinal).ToList();
        using var runner = new MailwardRunner();
        Task<CliResult> Cli(params string[] args) => runner.RunWith("", null, ["--data", server.DataPath, .. args]);

        Assert.Contains($"deleted {ids[0]}", (await Cli("queue", "del", ids[0])).Ok().Out); // through the control socket
        await server.StopAsync();
        Assert.Contains($"deleted {ids[1]}", (await Cli("queue", "del", ids[1])).Ok().Out); // on the queue's files
        Assert.Equal(40, (await Cli("queue", "del", ids[1])).Code);

        using var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        var rows = store.ListAudit(new AuditQuery(null, 10)).Items.Where(r => r.Operation == "DeleteQueued").ToList();
        Assert.Equal([(ids[1], "failed"), (ids[1], "done"), (ids[0], "done")], rows.Select(r => (r.Target, r.Outcome)));
        Assert.Equal("command line (control socket)", rows[2].Origin);
        Assert.StartsWith("command line (", rows[1].Origin, StringComparison.Ordinal);
        Assert.NotEqual("command line (control socket)", rows[1].Origin);
        Assert.All(rows.Skip(1), r => Assert.Contains("<joe@hosted.test>", r.Before, StringComparison.Ordinal));
        Assert.Null(rows[1].After);
    }
}
