// Quotas as admins write them: NOQUOTA, a byte count with an optional K/M/G suffix, or the
// Maildir++ form "<bytes>S,<count>C" that vpopmail and Courier store in maildirsize.
using System.Globalization;

namespace Mailward.Core.Accounts;

/// <summary>A storage quota; 0 in a field means "no limit" on that dimension.</summary>
public readonly record struct Quota(long Bytes, long Messages)
{
    public static readonly Quota Unlimited = new(0, 0);

    public bool IsUnlimited => Bytes == 0 && Messages == 0;

    /// <summary>The Maildir++ spelling (maildirsize's first line), or NOQUOTA.</summary>
    public override string ToString()
    {
        if (IsUnlimited)
            return "NOQUOTA";
        var parts = new List<string>(2);
        if (Bytes > 0)
            parts.Add($"{Bytes}S");
        if (Messages > 0)
            parts.Add($"{Messages}C");
        return string.Join(",", parts);
    }

    public static Quota Parse(string? text)
    {
        if (TryParse(text, out var q))
            return q;
        throw new AccountException(AccountError.QuotaMalformed,
            $"quota malformed: '{text}' (use NOQUOTA, a size such as 50M, or Maildir++ form such as 52428800S,1000C)");
    }

    public static bool TryParse(string? text, out Quota quota)
    {
        quota = Unlimited;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        var s = text.Trim();
        if (s.Equals("NOQUOTA", StringComparison.OrdinalIgnoreCase) || s == "0")
            return true;
        long bytes = 0, messages = 0;
        foreach (var raw in s.Split(','))
        {
            var part = raw.Trim();
            if (part.Length == 0)
                return false;
            var unit = char.ToUpperInvariant(part[^1]);
            if (unit == 'C')
            {
                if (messages != 0 || !TryNumber(part[..^1], out messages))
                    return false;
                continue;
            }
            if (bytes != 0 || !TrySize(part, out bytes))
                return false;
        }
        quota = new Quota(bytes, messages);
        return bytes > 0 || messages > 0;
    }

    /// <summary>A size: digits with an optional S (bytes), K, M or G suffix (optionally followed by B).</summary>
    public static bool TrySize(string part, out long bytes)
    {
        bytes = 0;
        var s = part.ToUpperInvariant();
        if (s.EndsWith('B') && s.Length > 1 && !char.IsAsciiDigit(s[^2]))
            s = s[..^1];
        long multiplier = 1;
        if (s.Length > 0 && !char.IsAsciiDigit(s[^1]))
        {
            multiplier = s[^1] switch
            {
                'S' => 1,
                'K' => 1024,
                'M' => 1024 * 1024,
                'G' => 1024L * 1024 * 1024,
                _ => -1,
            };
            if (multiplier < 0)
                return false;
            s = s[..^1];
        }
        if (!TryNumber(s, out var n))
            return false;
        try
        {
            bytes = checked(n * multiplier);
        }
        catch (OverflowException)
        {
            return false;
        }
        return true;
    }

    private static bool TryNumber(string s, out long n) =>
        long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out n) && n >= 0;
}
