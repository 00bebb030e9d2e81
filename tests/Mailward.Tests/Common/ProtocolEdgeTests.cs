// The protocol edge over real sockets: a plaintext client on an implicit-TLS port (465, 995) is one
// log line with its address and nothing else, and the listener goes on serving TLS clients.
using System.Net.Sockets;
using MailKit.Net.Pop3;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Tests.Smtp;

namespace Mailward.Tests.Common;

public class ProtocolEdgeTests
{
    [Theory]
    [InlineData("smtps")]
    [InlineData("pop3s")]
    public async Task A_plaintext_client_on_an_implicit_TLS_port_is_logged_once_and_the_listener_serves_the_next(string listener)
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        var endpoint = listener == "smtps" ? server.Smtps : server.Pop3s;

        // A client that forgot TLS: it speaks first, as an impatient one would, and reads until the close.
        using (var plain = await server.ConnectAsync("127.0.0.5", endpoint))
        {
            await plain.WriteAsync((listener == "smtps" ? "EHLO plain.test\r\n"u8 : "CAPA\r\n"u8).ToArray());
            var buffer = new byte[1024];
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                while (await plain.ReadAsync(buffer, deadline.Token) > 0)
                {
                }
            }
            catch (IOException)
            {
                // a reset is a close too
            }
        }

        if (listener == "smtps")
        {
            using var client = new SmtpClient { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000 };
            await client.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, SecureSocketOptions.SslOnConnect);
            await client.AuthenticateAsync("joe@hosted.test", "pw");
            await client.DisconnectAsync(true);
        }
        else
        {
            using var client = new Pop3Client { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000 };
            await client.ConnectAsync(endpoint.Address.ToString(), endpoint.Port, SecureSocketOptions.SslOnConnect);
            await client.AuthenticateAsync("joe@hosted.test", "pw");
            Assert.Equal(0, client.Count);
            await client.DisconnectAsync(true);
        }

        var deadlineAt = DateTime.UtcNow.AddSeconds(10);
        while (!server.Log.Any(l => l.Contains("127.0.0.5", StringComparison.Ordinal)) && DateTime.UtcNow < deadlineAt)
            await Task.Delay(20);
        var lines = server.Log.Where(l => l.Contains("127.0.0.5", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines);
        Assert.Contains("tls handshake failed", line, StringComparison.Ordinal);
        Assert.All(line, c => Assert.True(c is >= ' ' and <= '~', $"unprintable {(int)c} in: {line}"));
        Assert.DoesNotContain(server.Log, l => l.Contains("Unhandled", StringComparison.OrdinalIgnoreCase) || l.Contains("Exception", StringComparison.Ordinal));
    }
}
