// SMTP's three listeners on the shared edge: 25 (mail from other servers), 587 (submission, RFC
// 6409: STARTTLS, AUTH before MAIL) and 465 (submission over implicit TLS, RFC 8314). 25 has its own
// connection slots; 587 and 465 share theirs. Each connection becomes one SmtpSession.
using Mailward.Core.Auth;
using Mailward.Core.Configuration;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Mailward.Protocols.Common;
using Mailward.Protocols.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Smtp;

public enum SmtpListener
{
    Smtp,
    Submission,
    Smtps,
}

/// <summary>SMTP as the host registers it: its settings, its service, its listeners.</summary>
public sealed class SmtpProtocol : IMailProtocol
{
    public static IReadOnlyList<MailListener> Register(IServiceCollection services, MailwardSettings settings)
    {
        var options = SmtpOptions.From(settings);
        services.AddSingleton(options);
        services.AddSingleton(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            return new SmtpService(options, sp.GetRequiredService<ISmtpPolicy>(), sp.GetRequiredService<QueueStore>(), sp.GetRequiredService<ProtocolEdge>(),
                sp.GetRequiredService<ILogger<SmtpSession>>(), sp.GetRequiredService<LoginService>(), settings.SendingLimits(time, sp.GetRequiredService<Core.Accounts.IAccountStore>() as Core.Accounts.ISharedCounters), time);
        });
        return
        [
            Listener("smtp", "Smtp", SmtpListener.Smtp),
            Listener("submission", "Submission", SmtpListener.Submission),
            Listener("smtps", "Smtps", SmtpListener.Smtps),
        ];
    }

    private static MailListener Listener(string name, string section, SmtpListener kind) =>
        new(name, section, sp =>
        {
            var smtp = sp.GetRequiredService<SmtpService>();
            return connection => smtp.RunAsync(connection, kind);
        });
}

/// <summary>What the three SMTP listeners share: their slots on the edge and the session's parts.</summary>
public sealed class SmtpService(SmtpOptions options, ISmtpPolicy policy, QueueStore queue, ProtocolEdge edge, ILogger<SmtpSession> logger,
    LoginService? logins = null, SendingLimits? limits = null, TimeProvider? time = null)
{
    private const string Refusal = "421 4.7.0 Error: too many connections; try again later";
    private readonly EdgeListener[] _listeners = Listeners(options);

    /// <summary>By SmtpListener: 25 with its own slots, 587 and 465 sharing theirs.</summary>
    private static EdgeListener[] Listeners(SmtpOptions o)
    {
        var submission = new ConnectionLimiter(o.MaxConnections, o.MaxConnectionsPerClient, o.ClientIpv6PrefixLength);
        return
        [
            new("smtp", false, new ConnectionLimiter(o.MaxConnections, o.MaxConnectionsPerClient, o.ClientIpv6PrefixLength), Refusal),
            new("smtp", false, submission, Refusal, "submission"),
            new("smtp", true, submission, Refusal),
        ];
    }

    public Task RunAsync(ConnectionContext connection, SmtpListener listener) =>
        edge.RunAsync(connection, Of(listener), (stream, c, ct) =>
        {
            var info = new SmtpSessionInfo(c.SessionId, c.Client, c.ClientPort)
            {
                StartTls = c.StartTls,
                TlsDescription = c.TlsDescription,
                ServerAddress = c.Server,
                Submission = listener != SmtpListener.Smtp,
                ServerStopping = c.ServerStopping,
            };
            return new SmtpSession(options, policy, queue, logger, time, logins, limits).RunAsync(stream, info, ct);
        });

    private EdgeListener Of(SmtpListener listener) => _listeners[(int)listener];
}
