// What the mail clients' autoconfiguration names: the running server's mail listeners as bound
// (the real port, also when 0 was asked for), each with its TLS mode. The host fills it in
// (MailServer) with its listeners by name; the web admin only reads it.
using System.Net;

namespace Mailward.Web.Autoconfig;

public enum ListenerTls
{
    /// <summary>Plain text that upgrades with STARTTLS (RFC 3207, RFC 2595 §4, RFC 3501 §6.2.1).</summary>
    StartTls,
    /// <summary>TLS from the first byte (RFC 8314 §3): smtps, imaps, pop3s.</summary>
    Implicit,
}

/// <param name="Name">The listener's name: smtp, submission, smtps, imap, imaps, pop3, pop3s.</param>
public sealed record BoundListener(string Name, string Protocol, int Port, ListenerTls Tls);

/// <summary>The bound mail listeners, read at each request (they are bound after the services are built).</summary>
public sealed class MailListeners(Func<IEnumerable<(string Name, IPEndPoint? Endpoint)>> bound)
{
    /// <summary>The listeners mail clients use: IMAP, POP3, and submission (never port 25's MX listener).</summary>
    public IReadOnlyList<BoundListener> ForClients() =>
        bound().Where(l => l.Endpoint is { Port: > 0 }).Select(l => Describe(l.Name, l.Endpoint!.Port)).OfType<BoundListener>()
            // Implicit TLS first: RFC 8314 §3 prefers it to STARTTLS for submission and access.
            .OrderBy(l => l.Protocol, StringComparer.Ordinal).ThenBy(l => l.Tls == ListenerTls.Implicit ? 0 : 1).ToList();

    private static BoundListener? Describe(string name, int port) => name switch
    {
        "imaps" => new(name, "imap", port, ListenerTls.Implicit),
        "imap" => new(name, "imap", port, ListenerTls.StartTls),
        "pop3s" => new(name, "pop3", port, ListenerTls.Implicit),
        "pop3" => new(name, "pop3", port, ListenerTls.StartTls),
        "smtps" => new(name, "smtp", port, ListenerTls.Implicit),
        "submission" => new(name, "smtp", port, ListenerTls.StartTls),
        _ => null,
    };
}
