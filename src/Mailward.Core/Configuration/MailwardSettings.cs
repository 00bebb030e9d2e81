// Typed, validated view of the settings. Reading a key that the catalogue does not list throws, so
// every setting in use is documented (style rule 7).
using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Mailward.Core.Configuration;

public sealed class MailwardSettings(IConfiguration configuration, string dataPath)
{
    public string DataPath { get; } = dataPath;

    public string Hostname => Get("Hostname") is { Length: > 0 } h ? h : System.Net.Dns.GetHostName();
    public string NodeId => Get("Node:Id") is { Length: > 0 } n ? n : System.Net.Dns.GetHostName();
    public string AccountsProvider => Get("Accounts:Provider").ToLowerInvariant();
    public string AccountsConnectionString => Get("Accounts:ConnectionString") is { Length: > 0 } cs ? cs
        : $"Data Source={Path.Combine(DataPath, "accounts.db")}";
    public int CacheMaxEntries => GetInt("Accounts:CacheMaxEntries", 0, 100_000_000);
    public int CacheCheckMilliseconds => GetInt("Accounts:CacheCheckMilliseconds", 0, 3_600_000);
    public int CacheMaxMisses => GetInt("Accounts:CacheMaxMisses", 0, 100_000_000);
    public Accounts.Cache.AccountCacheOptions AccountCache => new(CacheMaxEntries, CacheMaxMisses, TimeSpan.FromMilliseconds(CacheCheckMilliseconds));
    public Passwords.PasswordOptions Passwords => new()
    {
        Argon2MemoryKiB = GetInt("Passwords:Argon2MemoryKiB", 8, 4 * 1024 * 1024),
        Argon2Iterations = GetInt("Passwords:Argon2Iterations", 1, 100),
        Argon2Parallelism = GetInt("Passwords:Argon2Parallelism", 1, 64),
    };
    public bool StoreClearText => GetBool("Passwords:StoreClearText");
    public string MailStorePath => Get("MailStore:Path") is { Length: > 0 } p ? Path.GetFullPath(p, DataPath) : Path.Combine(DataPath, "domains");
    public int MaxDirectoryEntries => GetInt("MailStore:MaxDirectoryEntries", 20, 100_000);
    public int ExpungeHistory => GetInt("MailStore:ExpungeHistory", 0, 10_000_000);
    public string LogLevel => Get("Log:Level");

    /// <summary>Where log lines go: file, stdout or both (docs/log-format.md).</summary>
    public string LogTarget => Get("Log:Target").ToLowerInvariant();
    public string LogPath => Get("Log:Path") is { Length: > 0 } p ? Path.GetFullPath(p, DataPath) : Path.Combine(DataPath, "log");
    public int LogRetentionDays => GetInt("Log:RetentionDays", 0, 36_500);
    public int LogBufferLines => GetInt("Log:BufferLines", 100, 10_000_000);
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
    public Delivery.DeliveryOptions Delivery => new()
    {
        Hostname = Hostname,
        LocalConcurrency = GetInt("Delivery:LocalConcurrency", 1, 1000),
        RemoteConcurrency = GetInt("Delivery:RemoteConcurrency", 1, 1000),
        BounceConcurrency = GetInt("Delivery:BounceConcurrency", 1, 1000),
        DestinationConcurrency = GetInt("Delivery:DestinationConcurrency", 1, 1000),
        Lifetime = TimeSpan.FromSeconds(GetInt("Queue:Lifetime", 0, int.MaxValue)),
        DoubleBounceTo = Get("Delivery:DoubleBounceTo"),
        BounceHeaderBytes = GetInt("Delivery:BounceHeaderBytes", 0, 1 << 20),
        StoreUnavailableRetry = TimeSpan.FromSeconds(GetInt("Accounts:UnavailableRetrySeconds", 1, 86_400)),
    };

    /// <summary>Queue:MinFreeBytes: the space the queue's and mail store's file systems keep free.</summary>
    public long MinFreeBytes => GetLong("Queue:MinFreeBytes", 0, long.MaxValue);
    public Delivery.Remote.RemoteOptions Remote => new()
    {
        ConnectTimeout = TimeSpan.FromSeconds(GetInt("Remote:ConnectTimeoutSeconds", 1, 3600)),
        DataTimeout = TimeSpan.FromSeconds(GetInt("Remote:DataTimeoutSeconds", 1, 86400)),
        GreetingTimeout = TimeSpan.FromSeconds(GetInt("Remote:GreetingTimeoutSeconds", 1, 3600)),
        SessionTimeout = TimeSpan.FromSeconds(GetInt("Remote:SessionTimeoutSeconds", 1, 86400)),
        MaxMxAddresses = GetInt("Remote:MaxMxAddresses", 1, 100),
        MaxMxSessions = GetInt("Remote:MaxMxSessions", 1, 100),
    };

    public bool AllowPrivateTargets => GetBool("Remote:AllowPrivateTargets");

    /// <summary>Remote:DnsServers: "address" or "address:port" (port 53 by default); empty: the system's.</summary>
    public IReadOnlyList<System.Net.IPEndPoint> DnsServers =>
        Get("Remote:DnsServers").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(s =>
            System.Net.IPAddress.TryParse(s, out var a) ? new System.Net.IPEndPoint(a, 53)
            : System.Net.IPEndPoint.TryParse(s, out var ep) && ep.Port > 0 ? ep
            : throw new SettingsException($"setting Remote:DnsServers: '{s}' is not an address or address:port")).ToList();

    /// <summary>Remote:SmartHost and the Remote:Routes section, validated.</summary>
    public Delivery.Remote.RemoteRoutes RemoteRoutes
    {
        get
        {
            _ = Get("Remote:Routes");
            var routes = configuration.GetSection("Remote:Routes").GetChildren()
                .Where(c => c.Value is { Length: > 0 }).ToDictionary(c => c.Key, c => c.Value!, StringComparer.OrdinalIgnoreCase);
            return new Delivery.Remote.RemoteRoutes(Get("Remote:SmartHost"), routes, GetInt("Remote:Port", 1, 65535));
        }
    }

    /// <summary>Submission:MaxMessagesPerHour/MaxRecipientsPerMessage and the Submission:Overrides section.</summary>
    /// <param name="shared">The account store's shared counters (PostgreSQL: every node counts every node's messages), or null.</param>
    public Policy.SendingLimits SendingLimits(TimeProvider? time = null, Accounts.ISharedCounters? shared = null)
    {
        _ = Get("Submission:Overrides");
        var defaults = new Policy.SendingLimit(GetInt("Submission:MaxMessagesPerHour", 0, 10_000_000), GetInt("Submission:MaxRecipientsPerMessage", 0, 100_000));
        var perDomain = new Dictionary<string, Policy.SendingLimit>(StringComparer.OrdinalIgnoreCase);
        foreach (var d in configuration.GetSection("Submission:Overrides").GetChildren())
        {
            int Value(string key, int fallback) =>
                d[key] is { } raw ? (int.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= 0 ? v
                    : throw new SettingsException($"setting Submission:Overrides:{d.Key}:{key} must be a whole number, not '{raw}'")) : fallback;
            perDomain[d.Key] = new Policy.SendingLimit(Value("MaxMessagesPerHour", defaults.MessagesPerHour), Value("MaxRecipientsPerMessage", defaults.RecipientsPerMessage));
        }
        return new Policy.SendingLimits(defaults, perDomain, time, shared);
    }

    public TimeSpan MaxHostBackoff => TimeSpan.FromSeconds(GetInt("Remote:MaxHostBackoffSeconds", 0, 86400 * 7));

    /// <summary>Domains whose instruction lines may run programs; "*" is every domain.</summary>
    public IReadOnlySet<string> ProgramDomains =>
        Get("Delivery:ProgramDomains").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>Path prefixes outside the mail store that alias lines may write to.</summary>
    public IReadOnlyList<string> AllowedExternalPaths =>
        Get("Delivery:AllowedExternalPaths").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => Path.IsPathRooted(p) ? p : throw new SettingsException($"setting Delivery:AllowedExternalPaths must list absolute paths, not '{p}'")).ToList();

    public Auth.LoginOptions Login => new()
    {
        DefaultDomain = Get("Pop3:DefaultDomain"),
        CacheLifetime = TimeSpan.FromSeconds(GetInt("Auth:CacheSeconds", 0, 86400)),
        MaxFailuresPerClient = GetInt("Pop3:MaxLoginFailuresPerClient", 1, 1_000_000),
        MaxFailuresPerAccount = GetInt("Auth:MaxFailuresPerAccount", 1, 1_000_000),
        MaxTrackedEntries = GetInt("Auth:MaxTrackedEntries", 1000, 100_000_000),
    };

    public TimeSpan ProgramTimeout => TimeSpan.FromSeconds(GetInt("Delivery:ProgramTimeoutSeconds", 1, 86400));

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

    public long GetLong(string key, long min, long max)
    {
        var raw = Get(key);
        if (!long.TryParse(raw, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < min || v > max)
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
        _ = AccountsProvider is "sqlite" or "postgres" ? 0 : throw new SettingsException($"Accounts:Provider must be sqlite or postgres, not '{AccountsProvider}'");
        if (AccountsProvider == "postgres" && Get("Accounts:ConnectionString").Length == 0)
            throw new SettingsException("Accounts:Provider=postgres needs Accounts:ConnectionString (Host=...;Database=...;Username=...)");
        _ = CacheMaxEntries + CacheMaxMisses + CacheCheckMilliseconds + MaxDirectoryEntries + ExpungeHistory + GetInt("MailStore:ListingCacheMessages", 0, 100_000_000);
        _ = GetBool("MailStore:WatchFolders");
        _ = Passwords;
        _ = StoreClearText;
        _ = Queue;
        _ = Delivery;
        _ = Remote;
        _ = RemoteRoutes;
        _ = AllowPrivateTargets;
        _ = DnsServers;
        _ = PolicyDns.PolicyDnsOptions.From(this);
        _ = Dnsbl.DnsblOptions.From(this);
        _ = Spf.SpfOptions.From(this);
        _ = RateLimit.DoorLimitOptions.From(this);
        _ = Greylist.GreylistOptions.From(this);
        _ = MtaSts.MtaStsOptions.From(this);
        _ = global::Mailward.Core.Delivery.Remote.RemoteTrust.Load(Get("Remote:ExtraRootCertificates"));
        _ = MaxHostBackoff + ProgramTimeout;
        _ = MinFreeBytes;
        _ = Login;
        _ = AllowedExternalPaths;
        _ = SendingLimits();
        if (Get("Pop3:AllowPlaintextAuth") is not ("never" or "loopback" or "always"))
            throw new SettingsException($"setting Pop3:AllowPlaintextAuth must be never, loopback or always, not '{Get("Pop3:AllowPlaintextAuth")}'");
        if (ListenAddress != "*" && !System.Net.IPAddress.TryParse(ListenAddress, out _))
            throw new SettingsException($"setting Listen:Address must be * or an IP address, not '{ListenAddress}'");
        if (LogLevel is not ("Trace" or "Debug" or "Information" or "Warning" or "Error"))
            throw new SettingsException($"setting Log:Level must be Trace, Debug, Information, Warning or Error, not '{LogLevel}'");
        if (LogTarget is not ("file" or "stdout" or "both"))
            throw new SettingsException($"setting Log:Target must be file, stdout or both, not '{Get("Log:Target")}'");
        _ = LogRetentionDays + LogBufferLines;
    }
}

public sealed class SettingsException(string message) : Exception(message);
