// A DMARC policy record (RFC 7489 §6.3): `v=DMARC1` first, then tag=value pairs separated by ";".
// Only what evaluation needs is kept (p, sp, pct, adkim, aspf, and whether rua names a URI, which
// decides how a record with a bad p= is read, §6.6.3). Unknown tags are ignored (§6.3).
namespace Mailward.Core.Dmarc;

public enum DmarcPolicy
{
    None,
    Quarantine,
    Reject,
}

public sealed record DmarcRecord(DmarcPolicy Policy, DmarcPolicy? SubdomainPolicy, int Percent, bool StrictDkim, bool StrictSpf)
{
    /// <summary>A TXT string that is a DMARC record at all: starts with the version tag (§6.6.3 step 3 discards the rest).</summary>
    public static bool IsCandidate(string text)
    {
        var t = text.TrimStart();
        if (!t.StartsWith('v'))
            return false;
        var rest = t[1..].TrimStart();
        if (!rest.StartsWith('='))
            return false;
        var value = rest[1..].TrimStart();
        return value.StartsWith("DMARC1", StringComparison.Ordinal) && (value.Length == 6 || value[6] is ';' or ' ' or '\t');
    }

    /// <summary>The record, or null when DMARC must not be applied with it (§6.6.3: no valid p= and no rua=).</summary>
    public static DmarcRecord? Parse(string text)
    {
        if (!IsCandidate(text))
            return null;
        DmarcPolicy? p = null, sp = null;
        bool badP = false, badSp = false, hasRua = false, strictDkim = false, strictSpf = false;
        var pct = 100;
        foreach (var part in text.Split(';').Skip(1))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
                continue;
            var tag = part[..eq].Trim().ToLowerInvariant();
            var value = part[(eq + 1)..].Trim();
            switch (tag)
            {
                case "p":
                    p = ParsePolicy(value);
                    badP = p is null;
                    break;
                case "sp":
                    sp = ParsePolicy(value);
                    badSp = sp is null;
                    break;
                case "pct":
                    // §6.3: an integer 0-100; an invalid value is ignored (the default 100 stays).
                    if (int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n <= 100)
                        pct = n;
                    break;
                case "adkim":
                    strictDkim = value.Equals("s", StringComparison.OrdinalIgnoreCase);
                    break;
                case "aspf":
                    strictSpf = value.Equals("s", StringComparison.OrdinalIgnoreCase);
                    break;
                case "rua":
                    hasRua = value.Split(',').Any(u => u.Trim().StartsWith("mailto:", StringComparison.OrdinalIgnoreCase) || u.Trim().StartsWith("https:", StringComparison.OrdinalIgnoreCase));
                    break;
            }
        }
        // §6.6.3 step 6: no valid p= (or an invalid sp=): with a reporting address, act as p=none; without, no DMARC.
        if (p is null || badP || badSp)
            return hasRua ? new DmarcRecord(DmarcPolicy.None, null, pct, strictDkim, strictSpf) : null;
        return new DmarcRecord(p.Value, sp, pct, strictDkim, strictSpf);
    }

    private static DmarcPolicy? ParsePolicy(string value) => value.ToLowerInvariant() switch
    {
        "none" => DmarcPolicy.None,
        "quarantine" => DmarcPolicy.Quarantine,
        "reject" => DmarcPolicy.Reject,
        _ => null,
    };
}
