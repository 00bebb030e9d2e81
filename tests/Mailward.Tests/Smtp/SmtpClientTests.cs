// Real clients over real sockets: MailKit's SmtpClient with STARTTLS, 8-bit bodies queued byte for
// byte, SIZE refusals, and the STARTTLS command-injection case (RFC 3207, CVE-2011-0411).
using System.Net.Security;
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Smtp;

public class SmtpClientTests
{
    private static readonly string[] Fixtures = ["user joe@hosted.test"];

    private static SmtpClient Client() => new() { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000 };

    [Fact]
    public async Task MailKit_sends_over_STARTTLS_and_the_body_is_queued_byte_for_byte()
    {
        await using var server = await ServerFixture.StartAsync(Fixtures);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@remote.test"));
        message.To.Add(MailboxAddress.Parse("joe@hosted.test"));
        message.Subject = "8-bit: café";
        message.Body = new TextPart("plain") { Text = "Grüße aus Köln\r\n.leading dot\r\n" + new string('x', 5000) + "\r\n" };
        foreach (var part in message.BodyParts.OfType<TextPart>())
            part.ContentTransferEncoding = ContentEncoding.EightBit;

        using (var client = Client())
        {
            await client.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.StartTls);
            Assert.True(client.IsSecure);
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.Pipelining));
            Assert.True(client.Capabilities.HasFlag(SmtpCapabilities.EightBitMime));
            await client.SendAsync(message);
            await client.DisconnectAsync(true);
        }

        var queued = Assert.Single(server.Messages);
        Assert.Equal(["joe@hosted.test"], queued.Envelope.Recipients);
        Assert.Equal("ESMTPS", queued.Envelope.Protocol);
        var body = SmtpFixture.Body(queued);
        using var expected = new MemoryStream();
        var format = FormatOptions.Default.Clone();
        format.NewLineFormat = NewLineFormat.Dos; // as sent on the wire
        message.WriteTo(format, expected);
        var text = Encoding.Latin1.GetString(body);
        Assert.StartsWith("Received: from ", text);
        Assert.Contains("(using Tls", text);
        var afterReceived = body.AsSpan(text.IndexOf("\r\n", text.IndexOf("; ", StringComparison.Ordinal), StringComparison.Ordinal) + 2);
        Assert.Equal(expected.ToArray(), afterReceived.ToArray());
    }

    [Fact]
    public async Task MailKit_sees_an_oversized_message_refused_at_MAIL()
    {
        await using var server = await ServerFixture.StartAsync(Fixtures, "--Smtp:MaxMessageBytes=10000");
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@remote.test"));
        message.To.Add(MailboxAddress.Parse("joe@hosted.test"));
        message.Body = new TextPart("plain") { Text = new string('y', 20_000) };
        using var client = Client();
        await client.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.None);
        Assert.Equal(10000u, client.MaxSize);
        var e = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message));
        Assert.Equal(SmtpStatusCode.ExceededStorageAllocation, e.StatusCode);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task MailKit_gets_unknown_users_refused()
    {
        await using var server = await ServerFixture.StartAsync(Fixtures);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@remote.test"));
        message.To.Add(MailboxAddress.Parse("nobody@hosted.test"));
        message.Body = new TextPart("plain") { Text = "x" };
        using var client = Client();
        await client.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.None);
        var e = await Assert.ThrowsAsync<SmtpCommandException>(() => client.SendAsync(message));
        Assert.Equal(SmtpStatusCode.MailboxUnavailable, e.StatusCode);
        Assert.Empty(server.Messages);
    }

    [Fact]
    public async Task Commands_pipelined_behind_STARTTLS_are_discarded_not_run_inside_TLS()
    {
        await using var server = await ServerFixture.StartAsync(Fixtures);
        await using var tcp = await server.ConnectAsync("127.0.0.9");
        var reader = new ReplyReader(tcp);
        Assert.StartsWith("220 ", await reader.ReadLineAsync());
        await tcp.WriteAsync("EHLO client.test\r\n"u8.ToArray());
        string? line;
        do
            line = await reader.ReadLineAsync();
        while (line is not null && line.StartsWith("250-", StringComparison.Ordinal));
        Assert.Equal("250 STARTTLS", line);

        // The injection: plaintext commands in the same packet as STARTTLS.
        await tcp.WriteAsync("STARTTLS\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<joe@hosted.test>\r\n"u8.ToArray());
        Assert.Equal("220 2.0.0 Ready to start TLS", await reader.ReadLineAsync());
        await using var tls = new SslStream(tcp, leaveInnerStreamOpen: true, (_, cert, _, _) => cert?.Subject == "CN=mail.test");
        await tls.AuthenticateAsClientAsync("mail.test");
        var secure = new ReplyReader(tls);
        // Had the injected MAIL/RCPT been kept, their replies would come first.
        await tls.WriteAsync("RCPT TO:<joe@hosted.test>\r\nQUIT\r\n"u8.ToArray());
        Assert.Equal("503 5.5.1 Error: send HELO/EHLO first", await secure.ReadLineAsync()); // state was reset: nothing injected ran
        Assert.Equal("221 2.0.0 Bye", await secure.ReadLineAsync());
    }

    [Fact]
    public async Task Sessions_and_queued_messages_are_logged()
    {
        await using var server = await ServerFixture.StartAsync(Fixtures);
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse("sender@remote.test"));
        message.To.Add(MailboxAddress.Parse("joe@hosted.test"));
        message.Body = new TextPart("plain") { Text = "logged" };
        using (var client = Client())
        {
            await client.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.StartTls);
            await client.SendAsync(message);
            await client.DisconnectAsync(true);
        }
        var id = Assert.Single(server.Messages).QueueId;
        Assert.Contains(server.Log, l => l.Contains($"queued id={id} from=<sender@remote.test> rcpts=1", StringComparison.Ordinal));
        for (var i = 0; i < 50 && !server.Log.Any(l => l.Contains(" end client=127.0.0.1 ", StringComparison.Ordinal)); i++)
            await Task.Delay(100);
        Assert.Contains(server.Log, l => l.Contains(" end client=127.0.0.1 ", StringComparison.Ordinal) && l.Contains("tls=using Tls", StringComparison.Ordinal) && l.Contains("queued=1", StringComparison.Ordinal));
    }
}
