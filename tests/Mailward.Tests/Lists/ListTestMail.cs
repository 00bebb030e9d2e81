// Helpers of the mailing list tests: a delivering server with users joe and amy at hosted.test and
// remote.test routed to a sink MTA; `mailward list ...` against its data folder; a raw message over
// a real SMTP socket; the copies read back from the Maildirs.
using Mailward.Tests.Autoresponder;
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Lists;

public static class ListTestMail
{
    public static readonly string[] Users = ["user joe@hosted.test", "user amy@hosted.test", "user mod@hosted.test"];

    public static Task<ServerFixture> StartAsync(TestMta sink, TimeProvider? time = null) =>
        ServerFixture.StartAsync(Users, time, "--Delivery:Enabled=true", $"--Remote:Routes:remote.test={sink.Endpoint}");

    public static Task<string> CliAsync(ServerFixture server, params string[] args) => AutoresponderTestMail.CliAsync(server, args);

    /// <summary>One message over a real socket; the reply to DATA (250 when queued).</summary>
    public static async Task SendAsync(ServerFixture server, string sender, string rcpt, string subject = "hello all", string extraHeader = "",
        string from = "", string body = "the body\r\n")
    {
        var header = $"From: {(from.Length > 0 ? from : sender)}\r\nTo: {rcpt}\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@remote.test>\r\n" +
            (extraHeader.Length > 0 ? extraHeader.ReplaceLineEndings("\r\n") + "\r\n" : "");
        await using var talk = await SmtpTalk.OpenAsync(server, "127.0.0.1");
        Assert.StartsWith("250", await talk.SendAsync($"MAIL FROM:<{sender}>"));
        Assert.StartsWith("250", await talk.SendAsync($"RCPT TO:<{rcpt}>"));
        Assert.StartsWith("250", await talk.DataAsync(header + "\r\n" + body));
        await talk.SendAsync("QUIT");
    }

    /// <summary>Waits for an empty queue; a failure shows the server's log (what the queue still holds and why).</summary>
    public static async Task SettleAsync(ServerFixture server)
    {
        try
        {
            await DeliveryTestMail.SettleAsync(server);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new InvalidOperationException(e.Message + "\n" + string.Join("\n", server.Log.TakeLast(60)), e);
        }
    }

    /// <summary>The messages in an address's Maildir new/, parsed, oldest name first.</summary>
    public static List<MimeMessage> Mail(ServerFixture server, string address) =>
        DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, address)).Select(f => MimeMessage.Load(f)).ToList();

    public static List<string> MailFiles(ServerFixture server, string address) => [.. DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, address))];

    public static IEnumerable<string> Lines(ServerFixture server, string start) => server.Log.Where(l => l.StartsWith(start, StringComparison.Ordinal));

    public static async Task<string[]> SubscribersAsync(ServerFixture server, string list = "team@hosted.test") =>
        (await CliAsync(server, "list", "subscribers", list)).Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public static MimeMessage Parse(ReceivedMail m) => MimeMessage.Load(new MemoryStream(m.Data));
}
