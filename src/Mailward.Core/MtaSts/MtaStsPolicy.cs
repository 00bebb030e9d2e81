// MTA-STS (RFC 8461) records and policies, parsed whole and strictly: the TXT record at
// _mta-sts.DOMAIN (§3.1: "v=STSv1; id=..."), and the policy file (§3.2: "key: value" lines with
// version STSv1, mode enforce|testing|none, max_age in seconds, and mx patterns), and the MX
// pattern match of §4.1 (a "*." pattern matches exactly one leftmost label).
using System.Globalization;

namespace Mailward.Core.MtaSts;

public enum MtaStsMode
{
    None,
    Testing,
    Enforce,
}

public sealed record MtaStsPolicy(MtaStsMode Mode, TimeSpan MaxAge, IReadOnlyList<string> Mx)
{
    /// <summary>RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year).</summary>
    public const long MaxAgeLimit = 31_557_600;

    /// <summary>The policy file's text; null when it is not a valid STSv1 policy (the reason in <paramref name="error"/>).</summary>
    public static MtaStsPolicy? Parse(string text, out string? error)
    {
        string? version = null, mode = null, maxAge = null;
        var mx = new List<string>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0)
                continue;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                error = "a line without \"key: value\"";
                return null;
            }
            var key = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            switch (key)
            {
                case "version": version ??= value; break; // §3.2: the first occurrence of a field counts
                case "mode": mode ??= value; break;
                case "max_age": maxAge ??= value; break;
                case "mx": mx.Add(value.ToLowerInvariant().TrimEnd('.')); break;
                default: break; // unknown fields are ignored (§3.2)
            }
        }
        error = version != "STSv1" ? "version is not STSv1"
            : mode is not ("enforce" or "testing" or "none") ? $"mode '{mode}' is not enforce, testing or none"
            : !long.TryParse(maxAge, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > MaxAgeLimit ? $"max_age '{maxAge}' is not 0 to {MaxAgeLimit}"
            : mode != "none" && mx.Count == 0 ? "no mx pattern"
            : null;
        if (error is not null)
            return null;
        return new MtaStsPolicy(mode switch { "enforce" => MtaStsMode.Enforce, "testing" => MtaStsMode.Testing, _ => MtaStsMode.None },
            TimeSpan.FromSeconds(long.Parse(maxAge!, CultureInfo.InvariantCulture)), mx);
    }

    /// <summary>RFC 8461 §4.1: the MX host name matches a pattern exactly, or "*.rest" with one label in place of the star.</summary>
    public bool MatchesMx(string host)
    {
        host = host.ToLowerInvariant().TrimEnd('.');
        foreach (var pattern in Mx)
        {
            if (pattern.StartsWith("*.", StringComparison.Ordinal))
            {
                var dot = host.IndexOf('.', StringComparison.Ordinal);
                if (dot > 0 && host[(dot + 1)..] == pattern[2..])
                    return true;
            }
            else if (host == pattern)
                return true;
        }
        return false;
    }

    /// <summary>The id of an STSv1 TXT record (§3.1), or null when <paramref name="texts"/> hold none or more than one.</summary>
    public static string? RecordId(IReadOnlyList<string> texts)
    {
        var records = texts.Where(t => t.StartsWith("v=STSv1", StringComparison.Ordinal) && (t.Length == 7 || t[7] is ';' or ' ' or '\t')).ToList();
        if (records.Count != 1)
            return null; // §3.1: more than one record, or none, is no policy
        foreach (var part in records[0].Split(';'))
        {
            var kv = part.Trim();
            if (kv.StartsWith("id=", StringComparison.Ordinal))
            {
                var id = kv[3..];
                return id.Length is > 0 and <= 32 && id.All(char.IsAsciiLetterOrDigit) ? id : null;
            }
        }
        return null;
    }
}
