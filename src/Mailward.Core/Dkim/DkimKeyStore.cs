// The DKIM signing keys in the data folder (docs/dkim-keys.md): DATA/dkim/DOMAIN/SELECTOR.key (PKCS#8
// PEM, RFC 7468 §10, whose END line is the end marker) and DATA/dkim/DOMAIN/active (versioned:
// which selector signs). Every write is atomic (tmp, fsync, rename, fsync the folder), folders
// are 0700 and files 0600; a damaged file never signs and is reported with its problem.
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.Addresses;
using Mailward.Core.Configuration;
using Mailward.Core.Queue;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Pkcs;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Mailward.Core.Dkim;

/// <summary>One stored key, or a damaged file (<see cref="Problem"/> set, no key).</summary>
public sealed record DkimKey(string Domain, string Selector, string Algorithm, DateTimeOffset Created, AsymmetricKeyParameter? Private, int Bits, string? Problem = null)
{
    public const string Rsa = "rsa-sha256", Ed25519 = "ed25519-sha256";

    public bool Good => Problem is null && Private is not null;

    /// <summary>The key record's value (RFC 6376 §3.6.1; RFC 8463 §4.2 for Ed25519).</summary>
    public string Record => Private switch
    {
        RsaPrivateCrtKeyParameters rsa => "v=DKIM1; k=rsa; p=" + Convert.ToBase64String(
            SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(new RsaKeyParameters(false, rsa.Modulus, rsa.PublicExponent)).GetEncoded()),
        Ed25519PrivateKeyParameters ed => "v=DKIM1; k=ed25519; p=" + Convert.ToBase64String(ed.GeneratePublicKey().GetEncoded()),
        _ => "",
    };

    /// <summary>The record in zone-file form, split into strings of at most 255 characters (RFC 1035 §3.3.14).</summary>
    public string ZoneLine
    {
        get
        {
            var value = Record;
            var parts = Enumerable.Range(0, (value.Length + 254) / 255).Select(i => string.Concat("\"", value.AsSpan(i * 255, Math.Min(255, value.Length - i * 255)), "\""));
            return $"{Selector}._domainkey.{Domain}. IN TXT ( {string.Join(" ", parts)} )";
        }
    }
}

/// <summary>A domain's keys: the active selector (null: not signed) and every key file, damaged ones included.</summary>
public sealed record DkimDomainKeys(string Domain, string? Active, IReadOnlyList<DkimKey> Keys, string? ActiveProblem)
{
    public DkimKey? Signing => Active is null ? null : Keys.FirstOrDefault(k => k.Selector == Active && k.Good);
}

public sealed class DkimKeyStore(string dataPath)
{
    private const string ActiveMagic = "mailward-dkim-active 1";
    private readonly Dictionary<string, (DateTime Active, DateTime Folder, DkimKey? Key)> _cache = new(StringComparer.Ordinal);
    private readonly Lock _cacheLock = new();

    public string Folder { get; } = Path.Combine(dataPath, "dkim");

    public static DkimKeyStore For(MailwardSettings settings) => new(settings.DataPath);

    /// <summary>The domain in the form its folder is named by (A-labels, lower case), or an error.</summary>
    public static string NormalizeDomain(string domain) =>
        DomainName.TryNormalize(domain, out var d, out var error) ? d : throw new ArgumentException($"'{domain}' is not a domain name: {error}");

    /// <summary>RFC 6376 §3.1: one DNS label; lower case here so the file name and the record agree.</summary>
    public static string NormalizeSelector(string selector)
    {
        var s = selector.Trim().ToLowerInvariant();
        if (s.Length is 0 or > 63 || s.StartsWith('-') || s.EndsWith('-') || !s.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            throw new ArgumentException($"'{selector}' is not a selector (1 to 63 letters, digits and hyphens)");
        return s;
    }

    /// <summary>A new key (not stored): RSA of <paramref name="rsaBits"/> bits, or Ed25519 when null.</summary>
    public static DkimKey Generate(string domain, string selector, int? rsaBits, DateTimeOffset now)
    {
        var created = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        if (rsaBits is { } bits)
        {
            if (bits is < 1024 or > 4096)
                throw new ArgumentException("RSA keys are 1024 to 4096 bits (RFC 8301 §3.2: at least 1024; 2048 is the default)");
            using var rsa = RSA.Create(bits);
            return new DkimKey(domain, selector, DkimKey.Rsa, created, PrivateKeyFactory.CreateKey(rsa.ExportPkcs8PrivateKey()), bits);
        }
        var seed = RandomNumberGenerator.GetBytes(Ed25519PrivateKeyParameters.KeySize);
        return new DkimKey(domain, selector, DkimKey.Ed25519, created, new Ed25519PrivateKeyParameters(seed), 256);
    }

    public IReadOnlyList<string> Domains()
    {
        if (!Directory.Exists(Folder))
            return [];
        return Directory.EnumerateDirectories(Folder).Select(Path.GetFileName).OfType<string>().Where(d => !d.StartsWith('.')).Order(StringComparer.Ordinal).ToList();
    }

    public DkimDomainKeys Read(string domain)
    {
        var folder = Path.Combine(Folder, domain);
        var keys = new List<DkimKey>();
        if (Directory.Exists(folder))
            foreach (var file in Directory.EnumerateFiles(folder, "*.key").Order(StringComparer.Ordinal))
                keys.Add(ReadKey(domain, Path.GetFileNameWithoutExtension(file), file));
        var (active, problem) = ReadActive(Path.Combine(folder, "active"));
        if (active is not null && !keys.Any(k => k.Selector == active && k.Good))
            (active, problem) = (null, $"active names selector {active}, which has no good key file");
        return new DkimDomainKeys(domain, active, keys, problem);
    }

    /// <summary>The key that signs <paramref name="domain"/>'s mail, or null; re-read only when the domain's files changed.</summary>
    public DkimKey? Signing(string domain)
    {
        var folder = Path.Combine(Folder, domain);
        var activeTime = File.GetLastWriteTimeUtc(Path.Combine(folder, "active"));
        var folderTime = Directory.GetLastWriteTimeUtc(folder);
        lock (_cacheLock)
            if (_cache.TryGetValue(domain, out var cached) && cached.Active == activeTime && cached.Folder == folderTime)
                return cached.Key;
        var key = Directory.Exists(folder) ? Read(domain).Signing : null;
        lock (_cacheLock)
        {
            if (_cache.Count > 10_000)
                _cache.Clear(); // a bound, not a policy: the domains of one node are far fewer
            _cache[domain] = (activeTime, folderTime, key);
        }
        return key;
    }

    /// <summary>Stores a new key as plain PKCS#8 PEM, so OpenSSL and OpenDKIM's KeyFile read it as it is.</summary>
    public void Save(DkimKey key)
    {
        var info = PrivateKeyInfoFactory.CreatePrivateKeyInfo(key.Private!).GetEncoded();
        WriteAtomic(key.Domain, key.Selector + ".key", PemEncoding.WriteString("PRIVATE KEY", info) + "\n");
    }

    public void Activate(string domain, string selector) =>
        WriteAtomic(domain, "active", $"{ActiveMagic}\nselector: {selector}\nend\n");

    /// <summary>Removes one key file (the active one only when <paramref name="force"/>: active goes first), or with no selector the domain's every file.</summary>
    public void Delete(string domain, string? selector, bool force)
    {
        var folder = Path.Combine(Folder, domain);
        var keys = Read(domain);
        if (selector is null)
        {
            TryDelete(Path.Combine(folder, "active"));
            if (Directory.Exists(folder))
            {
                foreach (var file in Directory.EnumerateFiles(folder))
                    TryDelete(file);
                Directory.Delete(folder);
                Fsync.Directory(Folder);
            }
            return;
        }
        if (!keys.Keys.Any(k => k.Selector == selector))
            throw new ArgumentException($"{domain} has no key with selector {selector}");
        if (keys.Active == selector)
        {
            if (!force)
                throw new ArgumentException($"{selector} signs {domain}'s mail; rotate first, or --force to stop signing");
            TryDelete(Path.Combine(folder, "active"));
        }
        TryDelete(Path.Combine(folder, selector + ".key"));
        Fsync.Directory(folder);
    }

    /// <summary>Removes what an interrupted write left (.tmp-* files).</summary>
    public void CleanTemporary(string domain)
    {
        var folder = Path.Combine(Folder, domain);
        if (Directory.Exists(folder))
            foreach (var file in Directory.EnumerateFiles(folder, ".tmp-*"))
                TryDelete(file);
    }

    private void WriteAtomic(string domain, string name, string content)
    {
        var folder = Path.Combine(Folder, domain);
        MakePrivateFolder(Folder);
        MakePrivateFolder(folder);
        var tmp = Path.Combine(folder, $".tmp-{name}-{Convert.ToHexString(RandomNumberGenerator.GetBytes(6))}");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            options.UnixCreateMode = DataFolderModes.PrivateFile;
        using (var f = new FileStream(tmp, options))
        {
            f.Write(Encoding.ASCII.GetBytes(content));
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, Path.Combine(folder, name), overwrite: true);
        Fsync.Directory(folder);
    }

    private static void MakePrivateFolder(string path)
    {
        if (Directory.Exists(path))
            return;
        if (OperatingSystem.IsWindows())
            Directory.CreateDirectory(path);
        else
            Directory.CreateDirectory(path, DataFolderModes.PrivateFolder);
        Fsync.Directory(Path.GetDirectoryName(path)!);
    }

    private static DkimKey ReadKey(string domain, string selector, string path)
    {
        DkimKey Damaged(string problem) => new(domain, selector, "", default, null, 0, problem);
        string pem;
        try
        {
            pem = File.ReadAllText(path, Encoding.ASCII);
        }
        catch (IOException e)
        {
            return Damaged("cannot be read: " + e.Message);
        }
        if (!pem.StartsWith("-----BEGIN PRIVATE KEY-----\n", StringComparison.Ordinal))
            return Damaged("does not begin with -----BEGIN PRIVATE KEY-----");
        if (!pem.EndsWith("-----END PRIVATE KEY-----\n", StringComparison.Ordinal))
            return Damaged("no end marker (-----END PRIVATE KEY-----)");
        AsymmetricKeyParameter key;
        try
        {
            var fields = PemEncoding.Find(pem);
            key = PrivateKeyFactory.CreateKey(Convert.FromBase64String(pem[fields.Base64Data]));
        }
        catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidOperationException or SecurityUtilityException)
        {
            return Damaged("the key cannot be read: " + e.Message);
        }
        var created = new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero); // written once, never changed
        return key switch
        {
            RsaPrivateCrtKeyParameters rsa when rsa.Modulus.BitLength is >= 1024 and <= 4096 => new DkimKey(domain, selector, DkimKey.Rsa, created, key, rsa.Modulus.BitLength),
            Ed25519PrivateKeyParameters => new DkimKey(domain, selector, DkimKey.Ed25519, created, key, 256),
            _ => Damaged("not an RSA key of 1024 to 4096 bits or an Ed25519 key"),
        };
    }

    private static (string? Selector, string? Problem) ReadActive(string path)
    {
        if (!File.Exists(path))
            return (null, null);
        string[] lines;
        try
        {
            lines = File.ReadAllText(path, Encoding.ASCII).Split('\n');
        }
        catch (IOException e)
        {
            return (null, "active cannot be read: " + e.Message);
        }
        if (lines.Length < 3 || lines[0] != ActiveMagic || !lines[1].StartsWith("selector: ", StringComparison.Ordinal) || lines[2] != "end")
            return (null, $"active is damaged (not '{ActiveMagic}', a selector line and 'end')");
        return (lines[1]["selector: ".Length..], null);
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
