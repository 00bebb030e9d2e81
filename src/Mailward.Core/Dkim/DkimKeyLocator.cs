// Finds a signer's public key (RFC 6376 §3.6.2) for MimeKit's DkimVerifier through the door's policy
// DNS (its servers, timeouts and cache), and applies Mailward's own rules to the key record before
// MimeKit sees it: v=DKIM1 first if present, k= rsa or ed25519 (RFC 8463 §4.2), h= allowing sha256,
// an empty p= is a revoked key (§3.6.1), and RSA keys under 1024 bits are refused (RFC 8301 §3.2).
// Failures are thrown as DkimKeyException carrying their RFC 8601 result (temperror or permerror).
using System.Collections.Concurrent;
using System.Globalization;
using Mailward.Core.PolicyDns;
using MimeKit.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Parameters;

namespace Mailward.Core.Dkim;

public sealed class DkimKeyException(DkimStatus status, string message) : Exception(message)
{
    public DkimStatus Status { get; } = status;
}

public sealed class DkimKeyLocator(IPolicyDns dns) : DkimPublicKeyLocatorBase
{
    /// <summary>RFC 8301 §3.2: "Verifiers MUST NOT consider signatures using RSA keys of less than 1024 bits as valid signatures."</summary>
    public const int MinRsaBits = 1024;

    public override AsymmetricKeyParameter LocatePublicKey(string methods, string domain, string selector, CancellationToken cancellationToken = default) =>
        LocatePublicKeyAsync(methods, domain, selector, cancellationToken).GetAwaiter().GetResult();

    public override async Task<AsymmetricKeyParameter> LocatePublicKeyAsync(string methods, string domain, string selector, CancellationToken cancellationToken = default)
    {
        // §3.5 q=: dns/txt is the only method defined; a signature that names none we know cannot be verified.
        if (!methods.Split(':').Any(m => m.Trim().Equals("dns/txt", StringComparison.OrdinalIgnoreCase)))
            throw new DkimKeyException(DkimStatus.PermError, $"no known key query method in q={methods}");
        if (!IsName(selector) || !IsName(domain))
            throw new DkimKeyException(DkimStatus.PermError, "d= or s= is not a domain name");
        var name = $"{selector}._domainkey.{domain}"; // §3.6.2.1
        var answer = await dns.QueryAsync(name, DnsRecordType.Txt, cancellationToken);
        return answer.Outcome switch
        {
            DnsOutcome.Error => throw new DkimKeyException(DkimStatus.TempError, $"key lookup of {name} failed: {answer.Error}"),
            DnsOutcome.NoData or DnsOutcome.NxDomain => throw new DkimKeyException(DkimStatus.PermError, $"no key at {name}"),
            _ => KeyFrom(name, answer.Texts),
        };
    }

    /// <summary>The key of the first record that is a DKIM key (§3.6.2.2 leaves the choice among several to the verifier).</summary>
    private AsymmetricKeyParameter KeyFrom(string name, IReadOnlyList<string> records)
    {
        DkimKeyException? problem = null;
        foreach (var record in records)
        {
            try
            {
                return Key(record);
            }
            catch (DkimKeyException e)
            {
                problem ??= e;
            }
        }
        throw new DkimKeyException(DkimStatus.PermError, $"{name}: {problem?.Message ?? "no key record"}");
    }

    /// <summary>Most parsed keys kept; past it the memory starts again (a door sees few signing keys).</summary>
    private const int MaxParsedKeys = 1000;

    // Parsing an RSA key record costs milliseconds (BouncyCastle validates the modulus): measured by
    // bench/door-cost.sh at 17 ms of CPU per message before. The DNS answer is cached, so the key is too.
    private readonly ConcurrentDictionary<string, AsymmetricKeyParameter> _parsed = new(StringComparer.Ordinal);

    /// <summary>One key record (§3.6.1), checked, as MimeKit's key parameter; parsed once per record text.</summary>
    public AsymmetricKeyParameter Key(string record)
    {
        if (_parsed.TryGetValue(record, out var known))
            return known;
        var key = Parse(record);
        if (_parsed.Count >= MaxParsedKeys)
            _parsed.Clear();
        _parsed[record] = key;
        return key;
    }

    private AsymmetricKeyParameter Parse(string record)
    {
        var tags = DkimTags.Parse(record) ?? throw new DkimKeyException(DkimStatus.PermError, "key record is not a tag list");
        if (tags.TryGetValue("v", out var v) && (v != "DKIM1" || !record.TrimStart().StartsWith('v')))
            throw new DkimKeyException(DkimStatus.PermError, "key record's v= is not DKIM1 as its first tag"); // §3.6.1
        var k = tags.TryGetValue("k", out var kv) ? kv : "rsa";
        if (k is not ("rsa" or "ed25519"))
            throw new DkimKeyException(DkimStatus.PermError, $"key type k={k} is not known");
        if (tags.TryGetValue("h", out var h) && !h.Split(':').Any(x => x.Trim() == "sha256"))
            throw new DkimKeyException(DkimStatus.PermError, $"key allows only h={h}");
        if (!tags.TryGetValue("p", out var p))
            throw new DkimKeyException(DkimStatus.PermError, "key record has no p=");
        if (DkimTags.Compact(p).Length == 0)
            throw new DkimKeyException(DkimStatus.PermError, "key revoked (empty p=)"); // §3.6.1
        AsymmetricKeyParameter key;
        try
        {
            key = GetPublicKey(record);
        }
        catch (Exception e) when (e is MimeKit.ParseException or FormatException or ArgumentException or InvalidOperationException)
        {
            throw new DkimKeyException(DkimStatus.PermError, "key record's p= is not a key: " + e.Message);
        }
        if (key is RsaKeyParameters rsa && rsa.Modulus.BitLength < MinRsaBits)
            throw new DkimKeyException(DkimStatus.PermError,
                string.Create(CultureInfo.InvariantCulture, $"RSA key of {rsa.Modulus.BitLength} bits (RFC 8301 §3.2: at least {MinRsaBits})"));
        return key;
    }

    /// <summary>Letters, digits, hyphens, underscores and dots only: nothing that could make another DNS question.</summary>
    private static bool IsName(string s) =>
        s.Length is > 0 and <= 253 && !s.StartsWith('.') && !s.EndsWith('.') && !s.Contains("..", StringComparison.Ordinal)
        && s.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
