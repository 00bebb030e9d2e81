// What a session knows about its connection, built by the connection handler (or a test): the
// endpoints, the session id the log shows, and how to start TLS on this connection.
using System.Net;

namespace Mailward.Protocols.Smtp;

public sealed record SmtpSessionInfo(string SessionId, IPAddress ClientAddress, int ClientPort)
{
    /// <summary>Wraps the plain stream in TLS (the handshake included) and describes the result; null when TLS is not offered.</summary>
    public Func<Stream, CancellationToken, Task<(Stream Stream, string Description)>>? StartTls { get; init; }

    /// <summary>Cancelled when the server stops. Unset (a session driven without a host), any cancellation counts as the server's.</summary>
    public CancellationToken ServerStopping { get; init; }

    /// <summary>Set when the connection is already TLS (implicit TLS listeners).</summary>
    public string? TlsDescription { get; init; }

    /// <summary>The local address the client connected to (for bare login names through vipmap).</summary>
    public IPAddress? ServerAddress { get; init; }

    /// <summary>A submission listener (587, 465): AUTH before MAIL, sender ownership (RFC 6409).</summary>
    public bool Submission { get; init; }
}
