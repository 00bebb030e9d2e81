// The other crash state of an answer (docs/autoresponder.md, "A crash"): the copy is in the
// Maildir, nothing is recorded and nothing queued (the process died between the two). Made by
// hand from the queued message, as the killed attempt would have left it; the restarted server's
// retry finds its copy (no second one) and answers once.
using System.Text;
using Mailward.Core.Configuration;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Core.Queue;
using Mailward.Tests.Support;

namespace Mailward.Tests.Autoresponder;

public sealed class AutoresponderCrashTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    private async Task Listening(int port)
    {
        try
        {
            await ServerProcesses.WaitListeningAsync(port);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException(e.Message + ": " + string.Join("\n", _servers.Output), e);
        }
    }

    [Fact]
    public async Task A_crash_after_the_copy_and_before_the_record_gives_one_copy_and_one_answer()
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("user", "add", "joe@hosted.test", "pw")).Ok();
        (await _m.Run("vacation", "set", "joe@hosted.test", "--text", "Away.")).Ok();
        await using var sink = new TestMta();
        var port = ServerProcesses.FreePort();
        string[] route = [$"--Remote:SmartHost={sink.Endpoint}", "--Log:Level=Warning"];
        using (var server = _servers.Start(_m.Data, port, ["--Delivery:Enabled=false", .. route]))
        {
            await Listening(port);
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(System.Net.IPAddress.Loopback, port);
            var s = tcp.GetStream();
            var r = new ReplyReader(s);
            await r.ReadLineAsync();
            await s.WriteAsync(Encoding.ASCII.GetBytes("HELO remote.test\r\nMAIL FROM:<friend@remote.test>\r\nRCPT TO:<joe@hosted.test>\r\nDATA\r\n"));
            for (var k = 0; k < 4; k++)
                await r.ReadLineAsync();
            await s.WriteAsync(Encoding.ASCII.GetBytes("From: friend@remote.test\r\nTo: joe@hosted.test\r\nSubject: crash\r\nMessage-ID: <c1@remote.test>\r\n\r\nhello\r\n.\r\n"));
            Assert.StartsWith("250 ", await r.ReadLineAsync());
            server.Kill();
            await server.WaitForExitAsync();
        }

        var settings = DataFolder.Open(_m.Data, ["--Hostname=mail.test"]).Settings;
        var maildir = MailStoreLayout.MaildirOf(_m.UserFolder("joe@hosted.test"));
        await using (var queue = QueueStore.Open(settings.QueuePath))
        {
            var m = Assert.Single(queue.Messages);
            await using var body = QueueStore.OpenBody(m);
            MaildirWriter.Deliver(maildir, MaildirName.DeliveryBase(m.ArrivedAt, m.QueueId, 0, 0, settings.NodeId), "mail.test",
                m.Envelope.Sender, "joe@hosted.test", body);
        }
        Assert.Single(Directory.GetFiles(Path.Combine(maildir, "new")));

        using (var server = _servers.Start(_m.Data, port, ["--Delivery:Enabled=true", .. route]))
        {
            await Listening(port);
            await sink.WaitForAsync(1);
            await Task.Delay(1000); // room for a second answer or copy, were there one
            server.Kill();
            await server.WaitForExitAsync();
        }
        Assert.Equal("friend@remote.test", Assert.Single(sink.Received).Recipients[0]);
        Assert.Single(Directory.GetFiles(Path.Combine(maildir, "new")));
    }
}
