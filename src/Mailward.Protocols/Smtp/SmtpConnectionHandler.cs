// The edge: one Kestrel connection becomes one SmtpSession. Checks the connection limits, builds
// the session info (endpoints, session id, how to start TLS) and runs the session on the
// connection's pipes until it ends or the server stops.
using System.Net;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Mailward.Protocols.Hosting;
using Mailward.Protocols.Tls;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Smtp;

public sealed class SmtpConnectionHandler(SmtpOptions options, ISmtpPolicy policy, QueueStore queue, TlsCertificates tls,
    SmtpConnectionLimiter limiter, IHostApplicationLifetime lifetime, ILogger<SmtpSession> logger) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        var remote = connection.RemoteEndPoint as IPEndPoint;
        var client = remote?.Address ?? IPAddress.None;
        if (client.IsIPv4MappedToIPv6)
            client = client.MapToIPv4();
        await using var stream = new PipeStream(connection.Transport);
        if (limiter.Limiter.TryEnter(client) is { } refusal)
        {
            SmtpLog.ConnectionRefused(logger, client.ToString(), refusal);
            await stream.WriteAsync("421 4.7.0 Error: too many connections; try again later\r\n"u8.ToArray());
            await stream.FlushAsync();
            return;
        }
        try
        {
            using var ct = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, lifetime.ApplicationStopping);
            var info = new SmtpSessionInfo(SmtpSessionInfo.NewSessionId(), client, remote?.Port ?? 0) { StartTls = tls.HandshakeAsync };
            await new SmtpSession(options, policy, queue, logger).RunAsync(stream, info, ct.Token);
        }
        finally
        {
            limiter.Limiter.Leave(client);
        }
    }
}

/// <summary>The SMTP listener's limiter, as its own service type.</summary>
public sealed class SmtpConnectionLimiter(SmtpOptions options)
{
    public ConnectionLimiter Limiter { get; } = new(options.MaxConnections, options.MaxConnectionsPerClient);
}
