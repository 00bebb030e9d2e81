// Hashes new passwords with Argon2id (memory-hard; PHC string format, which Dovecot's ARGON2ID
// scheme reads too) and verifies every format vpopmail and Dovecot left behind: DES, $1$, $5$, $6$,
// bcrypt, optionally behind a Dovecot "{SCHEME}" prefix, and {PLAIN}. Anything but the current
// Argon2id parameters is flagged for upgrade at the next successful login.
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Isopoh.Cryptography.Argon2;

namespace Mailward.Core.Passwords;

public sealed partial class PasswordHasher(PasswordOptions options)
{
    private readonly PasswordOptions _options = options;
    private string? _dummy;
    private long _argon2Verifications;

    /// <summary>Argon2 verifications run so far (a seam for tests: an unknown login must cost one).</summary>
    public long Argon2Verifications => Interlocked.Read(ref _argon2Verifications);

    public static PasswordHasher Default { get; } = new(new PasswordOptions());

    public string Hash(string password)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var config = new Argon2Config
        {
            Type = Argon2Type.HybridAddressing,
            Version = Argon2Version.Nineteen,
            TimeCost = _options.Argon2Iterations,
            MemoryCost = _options.Argon2MemoryKiB,
            Lanes = _options.Argon2Parallelism,
            Threads = 1,
            Password = Encoding.UTF8.GetBytes(password),
            Salt = salt,
            HashLength = 32,
        };
        using var argon2 = new Argon2(config);
        using var raw = argon2.Hash();
        return config.EncodeString(raw.Buffer);
    }

    public bool Verify(string storedHash, string password)
    {
        if (string.IsNullOrEmpty(storedHash) || storedHash == NoPassword)
            return false;
        var (scheme, hash) = SplitScheme(storedHash);
        switch (scheme)
        {
            case "PLAIN":
            case "CLEARTEXT":
                return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(hash), Encoding.UTF8.GetBytes(password));
            case "ARGON2I":
            case "ARGON2ID":
            case null when hash.StartsWith("$argon2", StringComparison.Ordinal):
                try
                {
                    Interlocked.Increment(ref _argon2Verifications);
                    return Argon2.Verify(hash, password);
                }
                catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException)
                {
                    return false;
                }
            default:
                return UnixCrypt.Verify(hash, password);
        }
    }

    /// <summary>
    /// Verifies against a hash of a random password made with the current parameters, and fails:
    /// a login name that does not exist (or has no password) then costs what a wrong password costs.
    /// </summary>
    public bool VerifyDummy(string password)
    {
        _dummy ??= Hash(Convert.ToBase64String(RandomNumberGenerator.GetBytes(24)));
        Verify(_dummy, password);
        return false;
    }

    /// <summary>True when the hash is not Argon2id at the configured cost: rehash after a good login.</summary>
    public bool NeedsUpgrade(string storedHash)
    {
        var (_, hash) = SplitScheme(storedHash);
        var m = Argon2Params().Match(hash);
        if (!m.Success)
            return storedHash != NoPassword;
        return int.Parse(m.Groups["m"].Value) < _options.Argon2MemoryKiB ||
               int.Parse(m.Groups["t"].Value) < _options.Argon2Iterations;
    }

    /// <summary>Stored for accounts created without a password (vadduser -n): no password verifies.</summary>
    public const string NoPassword = "*";

    /// <summary>Accepts only hashes this server can verify, so a typo in `vadduser -e` is caught at once.</summary>
    public static bool IsRecognizedHash(string storedHash)
    {
        if (storedHash == NoPassword)
            return true;
        var (scheme, hash) = SplitScheme(storedHash);
        if (scheme is "PLAIN" or "CLEARTEXT")
            return true;
        if (hash.StartsWith("$argon2", StringComparison.Ordinal))
            return Argon2Params().IsMatch(hash);
        return KnownCrypt().IsMatch(hash);
    }

    private static (string? Scheme, string Hash) SplitScheme(string stored)
    {
        if (stored.StartsWith('{'))
        {
            var end = stored.IndexOf('}', StringComparison.Ordinal);
            if (end > 1)
                return (stored[1..end].ToUpperInvariant(), stored[(end + 1)..]);
        }
        return (null, stored);
    }

    [GeneratedRegex(@"^\$argon2id?\$v=\d+\$m=(?<m>\d+),t=(?<t>\d+),p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$")]
    private static partial Regex Argon2Params();

    // DES (13 chars), MD5-crypt, SHA-crypt with optional rounds, bcrypt.
    [GeneratedRegex(@"^([./0-9A-Za-z]{13}|\$1\$[^$]{0,8}\$[./0-9A-Za-z]{22}|\$[56]\$(rounds=\d+\$)?[^$]{0,16}\$[./0-9A-Za-z]{43,86}|\$2[aby]\$\d\d\$[./0-9A-Za-z]{53})$")]
    private static partial Regex KnownCrypt();
}

public sealed record PasswordOptions
{
    public int Argon2MemoryKiB { get; init; } = 19456;
    public int Argon2Iterations { get; init; } = 2;
    public int Argon2Parallelism { get; init; } = 1;
}
