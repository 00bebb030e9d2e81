// mailward queue list|stat read what the running server queued (qmail-qread, qmail-qstat).
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
            await TranscriptRunner.PlayAsync(t, tcp, 0, "socket");
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
}
