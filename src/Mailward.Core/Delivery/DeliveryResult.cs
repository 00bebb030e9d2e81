// What one delivery attempt to one recipient came to: the status, the RFC 3463 enhanced status code
// a DSN reports, a detail for the log and the DSN's text, and, where a remote MTA gave the answer, its
// name and reply as given (RFC 3464 §2.3.5 Remote-MTA, §2.3.6 Diagnostic-Code). The code is decided
// where the failure happens, never recovered later from the wording.
using System.Text.RegularExpressions;

namespace Mailward.Core.Delivery;

public enum DeliveryStatus
{
    Delivered,
    Temporary,
    Permanent,
    NotLocal,
}

/// <summary>The remote MTA's host name and its reply (code and text, lines joined), for the DSN.</summary>
public sealed record RemoteReply(string Mta, string Reply);

public sealed partial record DeliveryResult(DeliveryStatus Status, string Code, string Detail)
{
    public RemoteReply? Remote { get; init; }

    public static DeliveryResult Delivered(string detail) => new(DeliveryStatus.Delivered, "2.0.0", detail);

    public static DeliveryResult NotLocal(string detail) => new(DeliveryStatus.NotLocal, "", detail);

    /// <summary>A failure that another attempt may cure; <paramref name="code"/> must be a 4.X.Y code.</summary>
    public static DeliveryResult Temporary(string code, string detail) => new(DeliveryStatus.Temporary, Checked(code, '4'), detail);

    /// <summary>A final failure; <paramref name="code"/> must be a 5.X.Y code.</summary>
    public static DeliveryResult Permanent(string code, string detail) => new(DeliveryStatus.Permanent, Checked(code, '5'), detail);

    /// <summary>
    /// A remote MTA's reply (<paramref name="reply"/> as received: "550 5.1.1 text"): 2xx delivered,
    /// 5xx permanent, anything else temporary. The code is the reply's enhanced code (RFC 2034 §4:
    /// right after the basic code) when its class agrees with the basic code (RFC 3463 §2), else the
    /// class's generic X.0.0.
    /// </summary>
    public static DeliveryResult FromReply(string mta, int code, string reply, string detail)
    {
        var status = code / 100 == 2 ? DeliveryStatus.Delivered : code / 100 == 5 ? DeliveryStatus.Permanent : DeliveryStatus.Temporary;
        var klass = status switch { DeliveryStatus.Delivered => '2', DeliveryStatus.Permanent => '5', _ => '4' };
        var text = reply.Length > 4 ? reply[4..] : "";
        var enhanced = EnhancedCode().Match(text);
        var reported = enhanced.Success && enhanced.Value[0] == klass ? enhanced.Value : $"{klass}.0.0";
        return new DeliveryResult(status, reported, detail) { Remote = status == DeliveryStatus.Delivered ? null : new RemoteReply(mta, reply) };
    }

    private static string Checked(string code, char klass)
    {
        if (code.Length < 5 || code[0] != klass || !EnhancedCode().IsMatch(code))
            throw new ArgumentException($"not a {klass}.X.Y status code: {code}", nameof(code));
        return code;
    }

    // RFC 3463 §2: class "." subject (1-3 digits) "." detail (1-3 digits), at the start of the text.
    [GeneratedRegex(@"^[245]\.\d{1,3}\.\d{1,3}(?=\s|$)")]
    private static partial Regex EnhancedCode();
}
