// The edge: one Kestrel connection becomes one SmtpSession. Checks the connection limits, builds
// the session info (endpoints, session id, how to start TLS) and runs the session on the
// connection's pipes until it ends or the server stops.
using System.Net;
using Mailward.Core.Auth;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Mailward.Protocols.Hosting;
using Mailward.Protocols.Tls;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Smtp;

public sealed class SmtpConnectionHandler(SmtpEdge edge) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => edge.RunAsync(connection, SmtpListener.Smtp);
}

/// <summary>Submission on 587 (RFC 6409): STARTTLS, AUTH before MAIL.</summary>
public sealed class SubmissionConnectionHandler(SmtpEdge edge) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => edge.RunAsync(connection, SmtpListener.Submission);
}

/// <summary>Submission over implicit TLS on 465 (RFC 8314).</summary>
public sealed class SmtpsConnectionHandler(SmtpEdge edge) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => edge.RunAsync(connection, SmtpListener.Smtps);
}

public enum SmtpListener
{
    Smtp,
    Submission,
    Smtps,
}

/// <summary>What the three SMTP listeners share: limits, TLS, the session's parts.</summary>
public sealed class SmtpEdge(SmtpOptions options, ISmtpPolicy policy, QueueStore queue, TlsCertificates tls,
    SmtpConnectionLimiter limiter, IHostApplicationLifetime lifetime, ILogger<SmtpSession> logger, LoginService? logins = null,
    SendingLimits? limits = null, TimeProvider? time = null)
{
    private readonly ConnectionLimiter _submissionLimiter = new(options.MaxConnections, options.MaxConnectionsPerClient);

    public async Task RunAsync(ConnectionContext connection, SmtpListener listener)
    {
        var (client, clientPort, server) = ConnectionAddresses.Of(connection);
        var slots = listener == SmtpListener.Smtp ? limiter.Limiter : _submissionLimiter;
        Stream stream = new PipeStream(connection.Transport);
        try
        {
            if (slots.TryEnter(client) is { } refusal)
            {
                SmtpLog.ConnectionRefused(logger, client.ToString(), refusal);
                if (listener != SmtpListener.Smtps)
                {
                    await stream.WriteAsync("421 4.7.0 Error: too many connections; try again later\r\n"u8.ToArray());
                    await stream.FlushAsync();
                }
                return;
            }
            try
            {
                using var ct = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, lifetime.ApplicationStopping);
                var info = new SmtpSessionInfo(SmtpSessionInfo.NewSessionId(), client, clientPort)
                {
                    StartTls = tls.HandshakeAsync,
                    ServerAddress = server,
                    Submission = listener != SmtpListener.Smtp,
                };
                if (listener == SmtpListener.Smtps)
                {
                    var (secure, description) = await tls.HandshakeAsync(stream, ct.Token);
                    stream = secure;
                    info = info with { StartTls = null, TlsDescription = description };
                }
                await new SmtpSession(options, policy, queue, logger, time, logins, limits).RunAsync(stream, info, ct.Token);
            }
            catch (IOException)
            {
                // a failed implicit-TLS handshake: nothing was said
            }
            finally
            {
                slots.Leave(client);
            }
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }
}

/// <summary>The SMTP listener's limiter, as its own service type.</summary>
public sealed class SmtpConnectionLimiter(SmtpOptions options)
{
    public ConnectionLimiter Limiter { get; } = new(options.MaxConnections, options.MaxConnectionsPerClient);
}
