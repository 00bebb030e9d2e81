// Helpers of the autoresponder tests: a server that delivers, with remote.test routed to a sink
// MTA; a raw SMTP message with the headers a case needs; setting an autoresponder with the command
// line against the server's data folder; waiting for the queue to settle.
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Autoresponder;

public static class AutoresponderTestMail
{
    public static readonly string[] Users = ["user joe@hosted.test", "user amy@hosted.test", "aliasdomain alias.test hosted.test", "alias sales@hosted.test &joe@hosted.test"];

    public static Task<ServerFixture> StartAsync(TestMta sink, TimeProvider? time = null) =>
        ServerFixture.StartAsync(Users, time, "--Delivery:Enabled=true", $"--Remote:Routes:remote.test={sink.Endpoint}");

    /// <summary>Runs `mailward ARGS` against the server's data folder; fails the test on a non-zero exit.</summary>
    public static async Task<string> CliAsync(ServerFixture server, params string[] args)
    {
        using var runner = new MailwardRunner();
        return (await runner.RunWith("", null, ["--data", server.DataPath, .. args])).Ok().Out;
    }

    /// <summary>One message over a real socket: MAIL FROM:&lt;sender&gt;, RCPT TO:&lt;rcpt&gt;, the header lines given, a body.</summary>
    public static async Task SendAsync(ServerFixture server, string sender, string rcpt, string header, string body = "hello")
    {
        await using var talk = await SmtpTalk.OpenAsync(server, "127.0.0.1");
        Assert.StartsWith("250", await talk.SendAsync($"MAIL FROM:<{sender}>"));
        Assert.StartsWith("250", await talk.SendAsync($"RCPT TO:<{rcpt}>"));
        Assert.StartsWith("250", await talk.DataAsync(header.ReplaceLineEndings("\r\n") + "\r\n\r\n" + body + "\r\n"));
        await talk.SendAsync("QUIT");
    }

    /// <summary>The usual header of a message from friend@remote.test to joe.</summary>
    public static string Header(string extra = "", string to = "joe@hosted.test", string subject = "lunch?") =>
        $"From: Friend <friend@remote.test>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <orig-1@remote.test>\r\nReferences: <older@remote.test>\r\n" +
        (extra.Length > 0 ? extra.ReplaceLineEndings("\r\n") + "\r\n" : "") + "Date: Sun, 29 Nov 2026 10:00:00 +0000";

    public static Task SettleAsync(ServerFixture server) => DeliveryTestMail.SettleAsync(server);

    public static int NewMail(ServerFixture server, string address) => DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, address)).Length;

    public static IEnumerable<string> Lines(ServerFixture server, string start) => server.Log.Where(l => l.StartsWith(start, StringComparison.Ordinal));
}
