// Validates the local part of a mailbox name. Mailbox names become folder names, so the rules are
// stricter than RFC 5322's dot-atom: no '/', no leading dot or dash, no "..", at most 64 octets
// (RFC 5321 §4.5.3.1.1); stored in lower case because delivery matches local parts case-insensitively.
namespace Mailward.Core.Addresses;

public static class LocalPart
{
    public const int MaxLength = 64;

    // RFC 5322 atext minus '/', which would walk the file tree.
    private const string Specials = "!#$%&'*+=?^_`{|}~.-";

    public static bool TryNormalize(string? input, out string local, out string error)
    {
        local = "";
        error = "";
        if (string.IsNullOrEmpty(input))
        {
            error = "empty user name";
            return false;
        }
        if (input.Length > MaxLength)
        {
            error = $"user name too long (more than {MaxLength} characters): {input}";
            return false;
        }
        var s = input.ToLowerInvariant();
        foreach (var c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || Specials.Contains(c, StringComparison.Ordinal)))
            {
                error = $"illegal user name: {input}";
                return false;
            }
        }
        if (s[0] is '.' or '-' or '+' || s[^1] == '.' || s.Contains("..", StringComparison.Ordinal))
        {
            error = $"illegal user name: {input}";
            return false;
        }
        local = s;
        return true;
    }
}
