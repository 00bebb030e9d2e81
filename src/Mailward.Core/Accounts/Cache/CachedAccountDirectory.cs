// The read cache in front of any account provider (a decorator of IAccountDirectory). It holds
// answers per kind (domains, users, aliases, server addresses), and within each kind found and
// not-found answers apart, each bounded on its own: a spammer's RCPTs to a million missing names
// cost one query each and churn only the not-found entries, never the users that exist. All
// answers are dropped when the provider's change counter moves: at once for writes made through
// the provider in this process (its Changed event), within Accounts:CacheCheckMilliseconds for
// writes made by another process or node. A cached answer is a completed ValueTask: no allocation.
// While the store is unreachable (AccountStoreUnavailableException) the answers held keep serving.
namespace Mailward.Core.Accounts.Cache;

/// <param name="MaxEntries">Found answers kept per kind (Accounts:CacheMaxEntries); 0 turns the cache off.</param>
/// <param name="MaxMisses">Not-found answers kept per kind (Accounts:CacheMaxMisses).</param>
/// <param name="CheckInterval">How long answers are used before the change counter is read again.</param>
public sealed record AccountCacheOptions(int MaxEntries, int MaxMisses, TimeSpan CheckInterval)
{
    public static readonly AccountCacheOptions Default = new(100_000, 20_000, TimeSpan.FromSeconds(1));
}

public sealed class CachedAccountDirectory : IAccountDirectory, IDisposable
{
    /// <summary>A user or alias: the real domain's id and the local part.</summary>
    internal readonly record struct LocalKey(long DomainId, string Local);

    /// <summary>One kind's answers: found and not-found bounded apart.</summary>
    internal sealed class KindCache<TKey, TValue>(int maxFound, int maxMissing) where TKey : notnull where TValue : class
    {
        public readonly BoundedMap<TKey, TValue> Found = new(maxFound);
        public readonly BoundedMap<TKey, bool> Missing = new(maxMissing);

        /// <summary>True when the answer is known; <paramref name="value"/> is null for a known miss.</summary>
        public bool TryGet(TKey key, out TValue? value)
        {
            if (Found.TryGet(key, out value))
                return true;
            value = null;
            return Missing.TryGet(key, out _);
        }

        public void Set(TKey key, TValue? value)
        {
            if (value is null)
                Missing.Set(key, true);
            else
                Found.Set(key, value);
        }
    }

    /// <summary>The answers valid for one value of the change counter; replaced whole when it moves.</summary>
    internal sealed class Entries(AccountCacheOptions o)
    {
        public readonly KindCache<string, DomainRecord> Domains = new(o.MaxEntries, o.MaxMisses);
        public readonly KindCache<LocalKey, UserRecord> Users = new(o.MaxEntries, o.MaxMisses);
        public readonly KindCache<LocalKey, AliasRecord> Aliases = new(o.MaxEntries, o.MaxMisses);
        public readonly KindCache<string, string> Ips = new(o.MaxEntries, o.MaxMisses);
    }

    private readonly IAccountDirectory _inner;
    private readonly IAccountChangeSource _changes;
    private readonly AccountCacheOptions _options;
    private readonly TimeProvider _time;
    private readonly long _checkTicks;
    private Entries _entries;
    private long _counter = -1; // the change counter _entries is valid for; -1: read it before trusting them
    private long _nextCheck;

    public CachedAccountDirectory(IAccountDirectory inner, IAccountChangeSource changes, AccountCacheOptions options, TimeProvider? time = null)
    {
        _inner = inner;
        _changes = changes;
        _options = options;
        _time = time ?? TimeProvider.System;
        _checkTicks = (long)(options.CheckInterval.TotalSeconds * _time.TimestampFrequency);
        _entries = new Entries(options);
        _changes.Changed += Invalidate;
    }

    /// <summary>A provider that is its own change source (every provider of IAccountStore is).</summary>
    public static CachedAccountDirectory Over<T>(T provider, AccountCacheOptions options, TimeProvider? time = null)
        where T : IAccountDirectory, IAccountChangeSource => new(provider, provider, options, time);

    private bool Enabled => _options.MaxEntries > 0;

    /// <summary>The current answers, for tests: how many of each kind are held.</summary>
    internal Entries Current => Volatile.Read(ref _entries);

    public ValueTask<DomainRecord?> FindDomainAsync(string name, CancellationToken ct = default)
    {
        if (!Enabled)
            return _inner.FindDomainAsync(name, ct);
        if (TryFresh(out var entries) && entries.Domains.TryGet(name, out var d))
            return new ValueTask<DomainRecord?>(d);
        return FindDomainSlowAsync(name, ct);
    }

    public ValueTask<UserRecord?> FindUserAsync(string local, string domain, CancellationToken ct = default)
    {
        if (!Enabled)
            return _inner.FindUserAsync(local, domain, ct);
        if (TryFresh(out var entries) && entries.Domains.TryGet(domain, out var d))
        {
            if (d is null)
                return new ValueTask<UserRecord?>((UserRecord?)null);
            if (entries.Users.TryGet(new LocalKey(d.Id, local), out var u))
                return new ValueTask<UserRecord?>(u);
        }
        return FindUserSlowAsync(local, domain, ct);
    }

    public ValueTask<AliasRecord?> FindAliasAsync(string local, string domain, CancellationToken ct = default)
    {
        if (!Enabled)
            return _inner.FindAliasAsync(local, domain, ct);
        if (TryFresh(out var entries) && entries.Domains.TryGet(domain, out var d))
        {
            if (d is null)
                return new ValueTask<AliasRecord?>((AliasRecord?)null);
            if (entries.Aliases.TryGet(new LocalKey(d.Id, local), out var a))
                return new ValueTask<AliasRecord?>(a);
        }
        return FindAliasSlowAsync(local, domain, ct);
    }

    public ValueTask<string?> MapIpToDomainAsync(string address, CancellationToken ct = default)
    {
        if (!Enabled)
            return _inner.MapIpToDomainAsync(address, ct);
        if (TryFresh(out var entries) && entries.Ips.TryGet(address, out var domain))
            return new ValueTask<string?>(domain);
        return MapIpSlowAsync(address, ct);
    }

    private async ValueTask<DomainRecord?> FindDomainSlowAsync(string name, CancellationToken ct) =>
        await DomainInAsync(await CurrentAsync(ct), name, ct);

    private async ValueTask<UserRecord?> FindUserSlowAsync(string local, string domain, CancellationToken ct)
    {
        var entries = await CurrentAsync(ct);
        if (await DomainInAsync(entries, domain, ct) is not { } d)
            return null;
        var key = new LocalKey(d.Id, local);
        if (entries.Users.TryGet(key, out var u))
            return u;
        u = await _inner.FindUserAsync(local, d.Name, ct);
        entries.Users.Set(key, u);
        return u;
    }

    private async ValueTask<AliasRecord?> FindAliasSlowAsync(string local, string domain, CancellationToken ct)
    {
        var entries = await CurrentAsync(ct);
        if (await DomainInAsync(entries, domain, ct) is not { } d)
            return null;
        var key = new LocalKey(d.Id, local);
        if (entries.Aliases.TryGet(key, out var a))
            return a;
        a = await _inner.FindAliasAsync(local, d.Name, ct);
        entries.Aliases.Set(key, a);
        return a;
    }

    private async ValueTask<string?> MapIpSlowAsync(string address, CancellationToken ct)
    {
        var entries = await CurrentAsync(ct);
        if (entries.Ips.TryGet(address, out var domain))
            return domain;
        domain = await _inner.MapIpToDomainAsync(address, ct);
        entries.Ips.Set(address, domain);
        return domain;
    }

    /// <summary>
    /// The domain from <paramref name="entries"/> or the provider. An answer is stored in the set
    /// of entries that was current before the load: a load that raced with a write lands in a set
    /// that the write already discarded.
    /// </summary>
    private async ValueTask<DomainRecord?> DomainInAsync(Entries entries, string name, CancellationToken ct)
    {
        if (entries.Domains.TryGet(name, out var d))
            return d;
        d = await _inner.FindDomainAsync(name, ct);
        entries.Domains.Set(name, d);
        return d;
    }

    /// <summary>True, with the current entries, while they may be used without reading the change counter.</summary>
    private bool TryFresh(out Entries entries)
    {
        entries = Volatile.Read(ref _entries);
        return _time.GetTimestamp() < Volatile.Read(ref _nextCheck) && Volatile.Read(ref _counter) >= 0;
    }

    /// <summary>The current entries after reading the change counter if the interval has passed; a moved counter drops them.</summary>
    private ValueTask<Entries> CurrentAsync(CancellationToken ct) =>
        TryFresh(out var entries) ? new ValueTask<Entries>(entries) : ValidateAsync(entries, ct);

    private async ValueTask<Entries> ValidateAsync(Entries entries, CancellationToken ct)
    {
        var now = _time.GetTimestamp();
        long counter;
        try
        {
            counter = await _changes.ReadChangeCounterAsync(ct);
        }
        catch (AccountStoreUnavailableException) when (Volatile.Read(ref _counter) >= 0)
        {
            // While the store cannot be reached nobody can change it: the answers held are still
            // true and keep serving (RCPT to a known address, a cached login); the counter is read
            // again one interval later. A lookup they lack reaches the provider and fails for now.
            Volatile.Write(ref _nextCheck, now + _checkTicks);
            return entries;
        }
        if (counter != Interlocked.Exchange(ref _counter, counter))
        {
            entries = new Entries(_options);
            Volatile.Write(ref _entries, entries);
        }
        Volatile.Write(ref _nextCheck, now + _checkTicks);
        return entries;
    }

    /// <summary>After a write in this process: forget everything and read the counter before the next answer.</summary>
    private void Invalidate()
    {
        Volatile.Write(ref _entries, new Entries(_options));
        Volatile.Write(ref _counter, -1);
    }

    public void Dispose() => _changes.Changed -= Invalidate;
}
