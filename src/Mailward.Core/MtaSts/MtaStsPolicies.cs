// A destination domain's MTA-STS policy as remote delivery needs it (RFC 8461 §5.1): the TXT record
// at _mta-sts.DOMAIN names the current policy id; a policy cached for that id is used as it is,
// another id (or none cached) fetches the policy again. A cached policy stays in use until its
// max_age has passed, also when the TXT record is gone, DNS fails or a new fetch fails: that is
// what keeps an attacker who can block DNS or HTTPS from turning the policy off. Policies live in
// memory (at most MtaSts:CacheEntries) and on disk (MtaStsStore), so a restart keeps them.
using System.Collections.Concurrent;
using Mailward.Core.PolicyDns;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.MtaSts;

public sealed partial class MtaStsPolicies(IPolicyDns dns, MtaStsFetcher fetcher, MtaStsStore store, MtaStsOptions options, TimeProvider? time = null,
    ILogger? logger = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private readonly ConcurrentDictionary<string, CachedMtaSts> _memory = new(StringComparer.Ordinal);

    public MtaStsOptions Options => options;

    /// <summary>The policy in force for <paramref name="domain"/>, or null when it has none (or MTA-STS is off).</summary>
    public async Task<MtaStsPolicy?> ForAsync(string domain, CancellationToken ct)
    {
        if (!options.Enabled)
            return null;
        domain = domain.ToLowerInvariant().TrimEnd('.');
        var now = _time.GetUtcNow();
        var cached = Cached(domain, now);
        var txt = await dns.QueryAsync("_mta-sts." + domain, DnsRecordType.Txt, ct);
        var id = txt.Outcome == DnsOutcome.Answer ? MtaStsPolicy.RecordId(txt.Texts) : null;
        if (id is null || cached?.Id == id)
            return cached?.Policy; // no record, a DNS error, or nothing new: the cache stands (§5.1)
        var (text, error) = await fetcher.FetchAsync(domain, ct);
        var policy = text is null ? null : MtaStsPolicy.Parse(text, out error);
        if (policy is null)
        {
            FetchFailed(_log, domain, id, error ?? "", cached is not null);
            return cached?.Policy;
        }
        var entry = new CachedMtaSts(domain, id, now, now + policy.MaxAge, text!, policy);
        var patterns = string.Join(' ', policy.Mx); // once per fetch
        Fetched(_log, domain, id, policy.Mode, (long)policy.MaxAge.TotalSeconds, patterns);
        Keep(entry);
        try
        {
            store.Save(entry);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            SaveFailed(_log, domain, e.Message); // still used from memory
        }
        return policy;
    }

    private CachedMtaSts? Cached(string domain, DateTimeOffset now)
    {
        if (!_memory.TryGetValue(domain, out var entry) && (entry = store.Load(domain)) is not null)
            Keep(entry);
        if (entry is null || entry.Expires > now)
            return entry;
        _memory.TryRemove(domain, out _);
        store.Remove(domain); // past its max_age: no policy until one is fetched again
        return null;
    }

    private void Keep(CachedMtaSts entry)
    {
        if (_memory.Count >= options.CacheEntries)
            _memory.Clear(); // the disk keeps every policy; memory starts over
        _memory[entry.Domain] = entry;
    }

    [LoggerMessage(EventId = 3110, Level = LogLevel.Information, Message = "mta-sts {Domain} policy id={Id} mode={Mode} max_age={MaxAge} mx={Mx}")]
    private static partial void Fetched(ILogger logger, string domain, string id, MtaStsMode mode, long maxAge, string mx);

    [LoggerMessage(EventId = 3111, Level = LogLevel.Warning, Message = "mta-sts {Domain} policy id={Id} not fetched: {Error} (cached policy kept: {Kept})")]
    private static partial void FetchFailed(ILogger logger, string domain, string id, string error, bool kept);

    [LoggerMessage(EventId = 3112, Level = LogLevel.Warning, Message = "mta-sts {Domain} policy not saved: {Error}")]
    private static partial void SaveFailed(ILogger logger, string domain, string error);
}
