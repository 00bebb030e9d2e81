// IMAP's two listeners on the shared edge: 143 (STARTTLS offered) and 993 (implicit TLS, RFC 8314),
// each with its own connection slots; the per-user-and-address count is shared by both.
using Mailward.Core.Auth;
using Mailward.Core.Configuration;
using Mailward.Core.MailStore;
using Mailward.Protocols.Common;
using Mailward.Protocols.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Imap;

/// <summary>IMAP as the host registers it: its settings, its service, its listeners.</summary>
public sealed class ImapProtocol : IMailProtocol
{
    public static IReadOnlyList<MailListener> Register(IServiceCollection services, MailwardSettings settings)
    {
        var options = OptionsFrom(settings);
        var maxConnections = settings.GetInt("Imap:MaxConnections", 1, 1_000_000);
        var maxPerClient = settings.GetInt("Imap:MaxConnectionsPerClient", 1, 1_000_000);
        var perUser = new ImapUserConnections(settings.GetInt("Imap:MaxConnectionsPerUserAndClient", 1, 1_000_000));
        var renders = new Fetch.RenderedStructures(settings.GetLong("Imap:RenderCacheBytes", 0, long.MaxValue));
        services.AddSingleton(options);
        services.AddSingleton(sp => new ImapService(options,
            new ImapServices(sp.GetRequiredService<LoginService>(), sp.GetRequiredService<IMailStore>(), sp.GetService<MailboxEvents>(), perUser, renders),
            sp.GetRequiredService<ProtocolEdge>(), sp.GetRequiredService<ILogger<ImapSession>>(), maxConnections, maxPerClient));
        return
        [
            new("imap", "Imap", sp => sp.GetRequiredService<ImapService>().RunPlainAsync, Streams: true),
            new("imaps", "Imaps", sp => sp.GetRequiredService<ImapService>().RunImplicitTlsAsync, Streams: true),
        ];
    }

    /// <summary>The session's settings, from the catalogue (docs/settings.md explains each).</summary>
    public static ImapOptions OptionsFrom(MailwardSettings s) => new()
    {
        Hostname = s.Hostname,
        AllowPlaintextAuth = PlaintextPolicy.Read(s, "Imap:AllowPlaintextAuth"),
        AutologoutTimeout = TimeSpan.FromSeconds(s.GetInt("Imap:AutologoutSeconds", 1800, 86400)),
        LoginTimeout = TimeSpan.FromSeconds(s.GetInt("Imap:LoginTimeoutSeconds", 10, 3600)),
        FailedLoginDelay = TimeSpan.FromMilliseconds(s.GetInt("Imap:FailedLoginDelayMilliseconds", 0, 60_000)),
        MaxBadCommands = s.GetInt("Imap:MaxBadCommands", 1, 10_000),
        MaxLineBytes = s.GetInt("Imap:MaxLineBytes", 1024, 16 * 1024 * 1024),
        MaxPreLoginLineBytes = s.GetInt("Imap:MaxPreLoginLineBytes", 256, 1024 * 1024),
        MaxLiteralBytes = s.GetInt("Imap:MaxLiteralBytes", 1024, 16 * 1024 * 1024),
        AppendLimit = s.GetLong("Imap:AppendLimitBytes", 1024, long.MaxValue),
        ParserLimits = new ImapParserLimits(s.GetInt("Imap:MaxNesting", 1, 1000), s.GetInt("Imap:MaxLiteralsPerCommand", 1, 10_000),
            s.GetInt("Imap:MaxArgumentsPerCommand", 10, 1_000_000)),
        MinDataRateBytesPerSecond = s.GetInt("Imap:MinDataRateBytesPerSecond", 0, int.MaxValue),
        MinDataRateGrace = TimeSpan.FromSeconds(s.GetInt("Imap:MinDataRateGraceSeconds", 0, 3600)),
        NamespacePrefix = s.Get("Imap:NamespacePrefix"),
        Separator = s.Get("Imap:Separator") is { Length: 1 } sep && sep[0] is '.' or '/' ? sep[0]
            : throw new ArgumentException("Imap:Separator is \".\" or \"/\""),
        IdlePoll = TimeSpan.FromSeconds(s.GetInt("Imap:IdlePollSeconds", 1, 3600)),
        AllowCompress = s.GetBool("Imap:Compress"),
    };
}

/// <summary>What the two IMAP listeners share: the session's parts; each listener has its own slots.</summary>
public sealed class ImapService(ImapOptions options, ImapServices services, ProtocolEdge edge, ILogger<ImapSession> logger, int maxConnections, int maxPerClient)
{
    private const string Refusal = "* BYE [UNAVAILABLE] too many connections; try again later";
    private readonly EdgeListener _plain = new("imap", false, new ConnectionLimiter(maxConnections, maxPerClient), Refusal);
    private readonly EdgeListener _secure = new("imap", true, new ConnectionLimiter(maxConnections, maxPerClient), Refusal);

    // One delegate for every connection, made at the first: one per connection would be held while it lasts.
    private Func<Stream, EdgeConnection, CancellationToken, Task>? _run;

    public Task RunPlainAsync(ConnectionContext connection) => edge.RunAsync(connection, _plain, _run ??= RunSession);

    public Task RunImplicitTlsAsync(ConnectionContext connection) => edge.RunAsync(connection, _secure, _run ??= RunSession);

    // Not async: RunAsync closes what the session opened when it ends, and an IDLE session waits with
    // no frame of this method held beside it.
    private Task RunSession(Stream stream, EdgeConnection c, CancellationToken ct) =>
        new ImapSession(options, services, logger).RunAsync(stream, new ImapSessionInfo(c.SessionId, c.Client, c.Server)
        {
            StartTls = c.StartTls,
            TlsDescription = c.TlsDescription,
        }, ct);
}
