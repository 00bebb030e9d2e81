// The edge for POP3: one Kestrel connection becomes one Pop3Session. Checks the connection limits,
// does the TLS handshake first on the implicit-TLS listener (995), offers STLS on the plain one.
using System.Net;
using Mailward.Core.Auth;
using Mailward.Core.Configuration;
using Mailward.Protocols.Hosting;
using Mailward.Protocols.Tls;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Pop3;

public sealed class Pop3Services(Pop3Options options, LoginService logins, TlsCertificates tls, IHostApplicationLifetime lifetime,
    ILogger<Pop3Session> logger, MailwardSettings settings)
{
    public Pop3Options Options { get; } = options;
    public LoginService Logins { get; } = logins;
    public TlsCertificates Tls { get; } = tls;
    public IHostApplicationLifetime Lifetime { get; } = lifetime;
    public ILogger<Pop3Session> Logger { get; } = logger;
    public ConnectionLimiter Plain { get; } = new(settings.GetInt("Pop3:MaxConnections", 1, 1_000_000), settings.GetInt("Pop3:MaxConnectionsPerClient", 1, 1_000_000));
    public ConnectionLimiter Secure { get; } = new(settings.GetInt("Pop3:MaxConnections", 1, 1_000_000), settings.GetInt("Pop3:MaxConnectionsPerClient", 1, 1_000_000));

    public static Pop3Options OptionsFrom(MailwardSettings s)
    {
        var idle = TimeSpan.FromSeconds(s.GetInt("Pop3:CommandTimeoutSeconds", 600, 86400));
        return new()
        {
            Hostname = s.Hostname,
            AllowPlaintextAuth = Enum.Parse<PlaintextAuth>(s.Get("Pop3:AllowPlaintextAuth"), ignoreCase: true),
            ApopOffered = s.StoreClearText,
            CommandTimeout = idle,
            FailedLoginDelay = TimeSpan.FromMilliseconds(s.GetInt("Pop3:FailedLoginDelayMilliseconds", 0, 60_000)),
            // An idle session refreshes nothing (and a busy one once a minute): a shorter stale age
            // would let a second session take a live lock.
            LockStaleAfter = TimeSpan.FromSeconds(Math.Max(s.GetInt("Pop3:LockStaleSeconds", 60, 86400 * 7), idle.TotalSeconds + 60)),
            MaxBadCommands = s.GetInt("Pop3:MaxBadCommands", 1, 10_000),
        };
    }
}

public sealed class Pop3ConnectionHandler(Pop3Services services) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => Pop3Edge.RunAsync(services, connection, implicitTls: false);
}

public sealed class Pop3sConnectionHandler(Pop3Services services) : ConnectionHandler
{
    public override Task OnConnectedAsync(ConnectionContext connection) => Pop3Edge.RunAsync(services, connection, implicitTls: true);
}

internal static class Pop3Edge
{
    public static async Task RunAsync(Pop3Services s, ConnectionContext connection, bool implicitTls)
    {
        var (client, _, server) = ConnectionAddresses.Of(connection);
        var limiter = implicitTls ? s.Secure : s.Plain;
        Stream stream = new PipeStream(connection.Transport);
        try
        {
            if (limiter.TryEnter(client) is { } refusal)
            {
                Pop3Log.ConnectionRefused(s.Logger, client.ToString(), refusal);
                if (!implicitTls)
                {
                    await stream.WriteAsync("-ERR [SYS/TEMP] too many connections; try again later\r\n"u8.ToArray());
                    await stream.FlushAsync();
                }
                return;
            }
            try
            {
                using var ct = CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, s.Lifetime.ApplicationStopping);
                var info = new Pop3SessionInfo(Smtp.SmtpSessionInfo.NewSessionId(), client, server) { StartTls = s.Tls.HandshakeAsync };
                if (implicitTls)
                {
                    var (tls, description) = await s.Tls.HandshakeAsync(stream, ct.Token);
                    stream = tls;
                    info = info with { StartTls = null, TlsDescription = description };
                }
                await new Pop3Session(s.Options, s.Logins, s.Logger).RunAsync(stream, info, ct.Token);
            }
            catch (IOException)
            {
                // a failed TLS handshake: nothing was said, nothing to do
            }
            finally
            {
                limiter.Leave(client);
            }
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }
}
