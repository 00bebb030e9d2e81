// POP3's two listeners on the shared edge: 110 (STLS offered) and 995 (implicit TLS, RFC 8314),
// each with its own connection slots. Each connection becomes one Pop3Session.
using Mailward.Core.Auth;
using Mailward.Core.Configuration;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Locks;
using Mailward.Protocols.Common;
using Mailward.Protocols.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Pop3;

/// <summary>POP3 as the host registers it: its settings, its service, its listeners.</summary>
public sealed class Pop3Protocol : IMailProtocol
{
    public static IReadOnlyList<MailListener> Register(IServiceCollection services, MailwardSettings settings)
    {
        var options = OptionsFrom(settings);
        var maxConnections = settings.GetInt("Pop3:MaxConnections", 1, 1_000_000);
        var maxPerClient = settings.GetInt("Pop3:MaxConnectionsPerClient", 1, 1_000_000);
        services.AddSingleton(options);
        services.AddSingleton(sp => new Pop3Service(options, sp.GetRequiredService<LoginService>(), sp.GetRequiredService<IMailStore>(),
            sp.GetRequiredService<IMailboxLocks>(), sp.GetRequiredService<ProtocolEdge>(), sp.GetRequiredService<ILogger<Pop3Session>>(), maxConnections, maxPerClient));
        return
        [
            new("pop3", "Pop3", sp => sp.GetRequiredService<Pop3Service>().RunPlainAsync),
            new("pop3s", "Pop3s", sp => sp.GetRequiredService<Pop3Service>().RunImplicitTlsAsync),
        ];
    }

    /// <summary>The session's settings, from the catalogue (docs/settings.md explains each).</summary>
    public static Pop3Options OptionsFrom(MailwardSettings s)
    {
        var idle = TimeSpan.FromSeconds(s.GetInt("Pop3:CommandTimeoutSeconds", 600, 86400));
        return new()
        {
            Hostname = s.Hostname,
            AllowPlaintextAuth = PlaintextPolicy.Read(s, "Pop3:AllowPlaintextAuth"),
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

/// <summary>What the two POP3 listeners share: the session's parts; each listener has its own slots.</summary>
public sealed class Pop3Service(Pop3Options options, LoginService logins, IMailStore store, IMailboxLocks locks, ProtocolEdge edge,
    ILogger<Pop3Session> logger, int maxConnections, int maxPerClient)
{
    private const string Refusal = "-ERR [SYS/TEMP] too many connections; try again later";
    private readonly EdgeListener _plain = new("pop3", false, new ConnectionLimiter(maxConnections, maxPerClient), Refusal);
    private readonly EdgeListener _secure = new("pop3", true, new ConnectionLimiter(maxConnections, maxPerClient), Refusal);

    public Task RunPlainAsync(ConnectionContext connection) => edge.RunAsync(connection, _plain, RunSession);

    public Task RunImplicitTlsAsync(ConnectionContext connection) => edge.RunAsync(connection, _secure, RunSession);

    private Task RunSession(Stream stream, EdgeConnection c, CancellationToken ct) =>
        new Pop3Session(options, logins, store, locks, logger).RunAsync(stream, new Pop3SessionInfo(c.SessionId, c.Client, c.Server)
        {
            StartTls = c.StartTls,
            TlsDescription = c.TlsDescription,
        }, ct);
}
