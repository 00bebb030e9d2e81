// The server side of SASL (RFC 4422) for the mechanisms a mail server offers under TLS: PLAIN
// (RFC 4616) and LOGIN (draft-murchison-sasl-login). Written once for SMTP AUTH (RFC 4954), POP3 AUTH
// (RFC 5034) and IMAP AUTHENTICATE: each protocol says which mechanisms it offers and how a
// challenge goes out and its answer comes back ("334 " or "+ "), and words the outcome its own way.
using System.Text;

namespace Mailward.Protocols.Common.Sasl;

public enum SaslMechanism
{
    Plain,
    Login,
}

public enum SaslResult
{
    /// <summary>The client gave a name and a password; the login code decides whether they are good.</summary>
    Credentials,

    /// <summary>The client answered "*" (RFC 4422 §3.5).</summary>
    Cancelled,

    /// <summary>A response that is not base64.</summary>
    MalformedBase64,

    /// <summary>Base64 that does not hold what the mechanism needs (PLAIN: authzid NUL authcid NUL password).</summary>
    Malformed,

    /// <summary>The client went away while a challenge waited.</summary>
    Disconnected,
}

public readonly record struct SaslOutcome(SaslResult Result, string User = "", string Password = "");

/// <summary>Sends a challenge (base64, possibly empty) and returns the client's answer line; null when the client is gone.</summary>
public delegate Task<string?> SaslChallenge(string challenge, CancellationToken ct);

public static class SaslServer
{
    /// <summary>The offered mechanism named <paramref name="name"/> (any case); null when it is not offered.</summary>
    public static SaslMechanism? Find(string name, IReadOnlyCollection<SaslMechanism> offered)
    {
        foreach (var m in offered)
            if (name.Equals(Name(m), StringComparison.OrdinalIgnoreCase))
                return m;
        return null;
    }

    public static string Name(SaslMechanism mechanism) => mechanism == SaslMechanism.Plain ? "PLAIN" : "LOGIN";

    /// <summary>Runs one exchange: the initial response if the command carried one, challenges for the rest.</summary>
    public static Task<SaslOutcome> RunAsync(SaslMechanism mechanism, string? initialResponse, SaslChallenge challenge, CancellationToken ct) =>
        mechanism == SaslMechanism.Plain ? PlainAsync(initialResponse, challenge, ct) : LoginAsync(initialResponse, challenge, ct);

    private static async Task<SaslOutcome> PlainAsync(string? initialResponse, SaslChallenge challenge, CancellationToken ct)
    {
        var response = initialResponse ?? await challenge("", ct);
        if (response is null)
            return new(SaslResult.Disconnected);
        if (response == "*")
            return new(SaslResult.Cancelled);
        // "=" is an empty initial response (RFC 4954 §4, RFC 5034 §4).
        if (Decode(response == "=" ? "" : response) is not { } text)
            return new(SaslResult.MalformedBase64);
        // authzid NUL authcid NUL password; an authzid other than the authcid is not supported.
        var fields = text.Split('\0');
        if (fields.Length != 3 || (fields[0].Length > 0 && fields[0] != fields[1]))
            return new(SaslResult.Malformed);
        return new(SaslResult.Credentials, fields[1], fields[2]);
    }

    private static async Task<SaslOutcome> LoginAsync(string? initialResponse, SaslChallenge challenge, CancellationToken ct)
    {
        var user = initialResponse ?? await challenge("VXNlcm5hbWU6", ct); // "Username:"
        if (user is null)
            return new(SaslResult.Disconnected);
        var password = user == "*" ? "*" : await challenge("UGFzc3dvcmQ6", ct); // "Password:"
        if (password is null)
            return new(SaslResult.Disconnected);
        if (user == "*" || password == "*")
            return new(SaslResult.Cancelled);
        if (Decode(user) is not { } u || Decode(password) is not { } p)
            return new(SaslResult.MalformedBase64);
        return new(SaslResult.Credentials, u, p);
    }

    private static string? Decode(string base64)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
