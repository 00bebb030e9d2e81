// Validates and normalises domain names: IDNA U-labels become A-labels (RFC 5890/5891), lower case,
// LDH labels of 1..63 octets, 253 octets in all (RFC 1035 §2.3.4), no trailing dot.
using System.Globalization;

namespace Mailward.Core.Addresses;

public static class DomainName
{
    public const int MaxLength = 253;
    public const int MaxLabelLength = 63;

    private static readonly IdnMapping Idn = new() { AllowUnassigned = false, UseStd3AsciiRules = true };

    /// <summary>Returns the A-label form of <paramref name="input"/>, or an error that names the rule broken.</summary>
    public static bool TryNormalize(string? input, out string domain, out string error)
    {
        domain = "";
        error = "";
        if (string.IsNullOrWhiteSpace(input))
        {
            error = "empty domain name";
            return false;
        }
        var s = input.Trim();
        if (s.Length > MaxLength * 4)
        {
            error = $"domain name too long (more than {MaxLength} characters)";
            return false;
        }
        // Length rules first: the IDNA mapper reports an overlong name only as "invalid".
        if (s.All(char.IsAscii))
        {
            var trimmed = s.TrimEnd('.');
            if (trimmed.Length > MaxLength)
            {
                error = $"domain name too long (more than {MaxLength} characters)";
                return false;
            }
            if (trimmed.Split('.').Any(l => l.Length > MaxLabelLength))
            {
                error = $"domain name label too long (more than {MaxLabelLength} characters): {s}";
                return false;
            }
        }
        string ascii;
        try
        {
            ascii = Idn.GetAscii(s).ToLowerInvariant();
        }
        catch (ArgumentException)
        {
            error = $"illegal domain name: {s}";
            return false;
        }
        if (ascii.Length > MaxLength)
        {
            error = $"domain name too long (more than {MaxLength} characters)";
            return false;
        }
        var labels = ascii.Split('.');
        foreach (var label in labels)
        {
            if (label.Length == 0 || label.Length > MaxLabelLength || label[0] == '-' || label[^1] == '-' ||
                !label.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-'))
            {
                error = label.Length > MaxLabelLength
                    ? $"domain name label too long (more than {MaxLabelLength} characters): {s}"
                    : $"illegal domain name: {s}";
                return false;
            }
        }
        // An all-numeric last label is an address, not a name (RFC 1123 §2.1).
        if (labels[^1].All(char.IsAsciiDigit))
        {
            error = $"illegal domain name: {s}";
            return false;
        }
        domain = ascii;
        return true;
    }

    public static string Normalize(string input) =>
        TryNormalize(input, out var d, out var e) ? d
        : throw new Accounts.AccountException(
            e.Contains("too long", StringComparison.Ordinal) ? Accounts.AccountError.NameTooLong : Accounts.AccountError.IllegalDomain, e);

    /// <summary>The Unicode form for display, when the name holds A-labels.</summary>
    public static string ToUnicode(string ascii)
    {
        try
        {
            return Idn.GetUnicode(ascii);
        }
        catch (ArgumentException)
        {
            return ascii;
        }
    }
}
