// The MTA-STS policy cache on disk (docs/mail-auth.md, "MTA-STS"): one file per policy domain in
// DATA/mta-sts, versioned and framed, written to a temporary file, fsynced and renamed over the old
// one, so a crash leaves the old policy or the new one, never half of either. A file that is not
// exactly this format, or whose domain differs from its name, is no policy (and is removed);
// RFC 8461 §5.1 wants policies kept across restarts so a downgrade cannot wipe them.
using System.Globalization;
using System.Text;
using Mailward.Core.Queue;

namespace Mailward.Core.MtaSts;

/// <param name="Id">The TXT record's id the policy was fetched for.</param>
/// <param name="Text">The policy file as fetched.</param>
public sealed record CachedMtaSts(string Domain, string Id, DateTimeOffset Fetched, DateTimeOffset Expires, string Text, MtaStsPolicy Policy);

public sealed class MtaStsStore(string folder, int maxPolicyBytes)
{
    public const string Magic = "mailward-mta-sts 1";

    public string Folder => folder;

    /// <summary>Only names a domain can have: no path, no dot at either end, nothing outside [a-z0-9.-].</summary>
    public static bool IsSafeName(string domain) =>
        domain.Length is > 0 and <= 253 && domain[0] != '.' && domain[^1] != '.' && !domain.Contains("..", StringComparison.Ordinal) &&
        domain.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '-');

    public void Save(CachedMtaSts p)
    {
        if (!IsSafeName(p.Domain))
            return;
        Directory.CreateDirectory(folder, Configuration.DataFolderModes.PrivateFolder); // policies are not secret, but the data folder keeps to its modes
        var body = Encoding.UTF8.GetBytes(p.Text);
        var head = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{Magic}\ndomain {p.Domain}\nid {p.Id}\nfetched {p.Fetched.ToUnixTimeSeconds()}\nexpires {p.Expires.ToUnixTimeSeconds()}\nbody {body.Length}\n"));
        var path = Path.Combine(folder, p.Domain);
        var tmp = path + ".tmp";
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(head);
            f.Write(body);
            f.Write("\nend\n"u8);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
        Fsync.Directory(folder);
    }

    /// <summary>The policy kept for <paramref name="domain"/>; null when there is none or its file is not valid.</summary>
    public CachedMtaSts? Load(string domain)
    {
        if (!IsSafeName(domain))
            return null;
        var path = Path.Combine(folder, domain);
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists || info.Length > maxPolicyBytes + 1024)
                return null;
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException)
        {
            return null;
        }
        var parsed = Parse(bytes, domain);
        if (parsed is null)
            TryDelete(path); // not ours, or damaged: fetched again when needed
        return parsed;
    }

    /// <summary>Start-up: temporary files of a write a crash interrupted are removed (the old file, if any, is whole).</summary>
    public void RemoveLeftovers()
    {
        if (!Directory.Exists(folder))
            return;
        foreach (var tmp in Directory.EnumerateFiles(folder, "*.tmp"))
            TryDelete(tmp);
    }

    public void Remove(string domain)
    {
        if (IsSafeName(domain))
            TryDelete(Path.Combine(folder, domain));
    }

    private static CachedMtaSts? Parse(byte[] bytes, string domain)
    {
        var pos = 0;
        string? Line()
        {
            var lf = Array.IndexOf(bytes, (byte)'\n', pos);
            if (lf < 0 || lf - pos > 300)
                return null;
            var line = Encoding.ASCII.GetString(bytes, pos, lf - pos);
            pos = lf + 1;
            return line;
        }
        string? Field(string name) => Line() is { } l && l.StartsWith(name + " ", StringComparison.Ordinal) ? l[(name.Length + 1)..] : null;
        if (Line() != Magic || Field("domain") != domain || Field("id") is not { } id
            || !long.TryParse(Field("fetched"), NumberStyles.None, CultureInfo.InvariantCulture, out var fetched)
            || !long.TryParse(Field("expires"), NumberStyles.None, CultureInfo.InvariantCulture, out var expires)
            || !int.TryParse(Field("body"), NumberStyles.None, CultureInfo.InvariantCulture, out var length)
            || length > bytes.Length - pos)
            return null;
        var text = Encoding.UTF8.GetString(bytes, pos, length);
        pos += length;
        if (bytes.Length - pos != 5 || !bytes.AsSpan(pos).SequenceEqual("\nend\n"u8))
            return null; // the end marker, and nothing after it
        if (MtaStsPolicy.Parse(text, out _) is not { } policy)
            return null;
        return new CachedMtaSts(domain, id, DateTimeOffset.FromUnixTimeSeconds(fetched), DateTimeOffset.FromUnixTimeSeconds(expires), text, policy);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
    }
}
