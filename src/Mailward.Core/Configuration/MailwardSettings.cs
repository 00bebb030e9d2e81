// Typed, validated view of the settings. Reading a key that the catalogue does not list throws, so
// every setting in use is documented (style rule 7).
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Mailward.Core.Configuration;

public sealed class MailwardSettings(IConfiguration configuration, string dataPath)
{
    public string DataPath { get; } = dataPath;

    public string Hostname => Get("Hostname") is { Length: > 0 } h ? h : System.Net.Dns.GetHostName();
    public string AccountsProvider => Get("Accounts:Provider").ToLowerInvariant();
    public string AccountsConnectionString => Get("Accounts:ConnectionString") is { Length: > 0 } cs ? cs
        : $"Data Source={Path.Combine(DataPath, "accounts.db")}";
    public int CacheMaxEntries => GetInt("Accounts:CacheMaxEntries", 0, 100_000_000);
    public int CacheCheckMilliseconds => GetInt("Accounts:CacheCheckMilliseconds", 0, 3_600_000);
    public Passwords.PasswordOptions Passwords => new()
    {
        Argon2MemoryKiB = GetInt("Passwords:Argon2MemoryKiB", 8, 4 * 1024 * 1024),
        Argon2Iterations = GetInt("Passwords:Argon2Iterations", 1, 100),
        Argon2Parallelism = GetInt("Passwords:Argon2Parallelism", 1, 64),
    };
    public bool StoreClearText => GetBool("Passwords:StoreClearText");
    public string MailStorePath => Get("MailStore:Path") is { Length: > 0 } p ? Path.GetFullPath(p, DataPath) : Path.Combine(DataPath, "domains");
    public int MaxDirectoryEntries => GetInt("MailStore:MaxDirectoryEntries", 20, 100_000);
    public string LogLevel => Get("Log:Level");
    public string ListenAddress => Get("Listen:Address");
    public string QueuePath => Path.Combine(DataPath, "queue");
    public Queue.QueueOptions Queue => new()
    {
        InlineBodyBytes = GetInt("Queue:InlineBodyBytes", 0, 16 << 20),
        SegmentBytes = GetInt("Queue:SegmentBytes", 1 << 20, int.MaxValue),
        MaxCommitBatch = GetInt("Queue:MaxCommitBatch", 1, 100_000),
    };
    public string TlsCertificateFile => Get("Tls:CertificateFile") is { Length: > 0 } f ? Path.GetFullPath(f, DataPath) : "";
    public string TlsKeyFile => Get("Tls:KeyFile") is { Length: > 0 } f ? Path.GetFullPath(f, DataPath) : "";
    public string ExtensionSeparators => Get("Delivery:ExtensionSeparators");

    public string Get(string key)
    {
        if (!SettingsCatalog.ByKey.ContainsKey(key))
            throw new InvalidOperationException($"setting {key} is not in SettingsCatalog");
        return configuration[key] ?? "";
    }

    public int GetInt(string key, int min, int max)
    {
        var raw = Get(key);
        if (!int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
            throw new SettingsException($"setting {key} must be a whole number from {min} to {max}, not '{raw}'");
        return v;
    }

    public bool GetBool(string key)
    {
        var raw = Get(key);
        return bool.TryParse(raw, out var v) ? v : throw new SettingsException($"setting {key} must be true or false, not '{raw}'");
    }

    /// <summary>Reads every setting once, so a bad value is reported at start, not at first use.</summary>
    public void Validate()
    {
        _ = AccountsProvider is "sqlite" ? 0 : throw new SettingsException(
            AccountsProvider == "postgres" ? "Accounts:Provider=postgres is not available yet; use sqlite"
            : $"Accounts:Provider must be sqlite, not '{AccountsProvider}'");
        _ = CacheMaxEntries + CacheCheckMilliseconds + MaxDirectoryEntries;
        _ = Passwords;
        _ = StoreClearText;
        _ = Queue;
        if (ListenAddress != "*" && !System.Net.IPAddress.TryParse(ListenAddress, out _))
            throw new SettingsException($"setting Listen:Address must be * or an IP address, not '{ListenAddress}'");
        if (LogLevel is not ("Trace" or "Debug" or "Information" or "Warning" or "Error"))
            throw new SettingsException($"setting Log:Level must be Trace, Debug, Information, Warning or Error, not '{LogLevel}'");
    }
}

public sealed class SettingsException(string message) : Exception(message);
