// Where a password may cross the wire without TLS, one rule for every protocol (RFC 2595 §2.1,
// RFC 8314): never, from loopback only (a webmail or a relay on this host), or always.
using System.Net;
using Mailward.Core.Configuration;

namespace Mailward.Protocols.Common;

public enum PlaintextAuth
{
    Never,
    Loopback,
    Always,
}

public static class PlaintextPolicy
{
    /// <summary>True when a login may happen on this connection: under TLS always, without it as the setting says.</summary>
    public static bool Allows(this PlaintextAuth rule, bool tls, IPAddress client) => tls || rule switch
    {
        PlaintextAuth.Always => true,
        PlaintextAuth.Loopback => IPAddress.IsLoopback(client),
        _ => false,
    };

    /// <summary>Reads a protocol's setting (Pop3:AllowPlaintextAuth, Submission:AllowPlaintextAuth).</summary>
    public static PlaintextAuth Read(MailwardSettings settings, string key) => Enum.Parse<PlaintextAuth>(settings.Get(key), ignoreCase: true);
}
