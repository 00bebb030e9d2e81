// The policy resolver: DnsClient against Dns:Servers (the system's resolvers when empty), with a
// timeout and retries per question, TCP when a UDP answer is truncated (RFC 7766), and the bounded
// answer cache in front. Every DNS problem becomes DnsOutcome.Error, so a check can tell "no
// record" from "could not ask" (a temporary failure never rejects mail).
using System.Net;
using DnsClient;
using DnsClient.Protocol;

namespace Mailward.Core.PolicyDns;

public sealed class PolicyDnsResolver : IPolicyDns
{
    private readonly LookupClient _client;
    private readonly DnsAnswerCache _cache;
    private readonly TimeSpan _maxTtl;

    public PolicyDnsResolver(PolicyDnsOptions options, TimeProvider? time = null)
    {
        var o = options.Servers.Count > 0 ? new LookupClientOptions([.. options.Servers]) : new LookupClientOptions();
        o.UseCache = false; // ours is bounded; DnsClient's is not
        o.Timeout = options.Timeout;
        o.Retries = options.Retries;
        o.ThrowDnsErrors = false;
        o.UseTcpFallback = true;
        o.ContinueOnEmptyResponse = false; // "no data" is an answer, not a reason to ask the next server
        _client = new LookupClient(o);
        _cache = new DnsAnswerCache(options.CacheEntries, time ?? TimeProvider.System);
        _maxTtl = options.CacheMaxTtl;
    }

    /// <summary>Answers currently held (for tests and the operator's curiosity).</summary>
    public int CachedAnswers => _cache.Count;

    public async ValueTask<DnsAnswer> QueryAsync(string name, DnsRecordType type, CancellationToken ct = default)
    {
        name = name.TrimEnd('.').ToLowerInvariant();
        if (!Askable(name))
            return DnsAnswer.Failed($"'{name}' is not a name that can be asked");
        if (_cache.TryGet(name, type, out var cached))
            return cached;
        IDnsQueryResponse response;
        try
        {
            response = await _client.QueryAsync(name, ToQueryType(type), QueryClass.IN, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is DnsResponseException or ArgumentException or OperationCanceledException or System.Net.Sockets.SocketException or IOException)
        {
            return DnsAnswer.Failed(e.Message); // a timeout or an unreachable server: temporary
        }
        var (answer, ttl) = Classify(response, type);
        _cache.Add(name, type, answer, ttl < _maxTtl ? ttl : _maxTtl);
        return answer;
    }

    private static (DnsAnswer, TimeSpan) Classify(IDnsQueryResponse response, DnsRecordType type)
    {
        var code = response.Header.ResponseCode;
        if (code == DnsHeaderResponseCode.NotExistentDomain)
            return (DnsAnswer.NxDomain, NegativeTtl(response));
        if (code != DnsHeaderResponseCode.NoError)
            return (DnsAnswer.Failed($"{code} from {response.NameServer}"), TimeSpan.Zero);
        var records = response.Answers.Where(r => ToRecordType(r.RecordType) == type).ToList();
        if (records.Count == 0)
            return (DnsAnswer.NoData, NegativeTtl(response));
        var ttl = TimeSpan.FromSeconds(response.Answers.Min(r => r.TimeToLive)); // the CNAMEs on the way count too
        return type switch
        {
            DnsRecordType.A or DnsRecordType.Aaaa => (new DnsAnswer(DnsOutcome.Answer,
                records.Select(r => r is ARecord a ? a.Address : ((AaaaRecord)r).Address).ToList(), [], []), ttl),
            DnsRecordType.Mx => (new DnsAnswer(DnsOutcome.Answer, [],
                records.Cast<MxRecord>().OrderBy(m => m.Preference).Select(m => m.Exchange.Value.TrimEnd('.').ToLowerInvariant()).ToList(), []), ttl),
            DnsRecordType.Reverse => (new DnsAnswer(DnsOutcome.Answer, [],
                records.Cast<PtrRecord>().Select(p => p.PtrDomainName.Value.TrimEnd('.').ToLowerInvariant()).ToList(), []), ttl),
            _ => (new DnsAnswer(DnsOutcome.Answer, [], [], records.Cast<TxtRecord>().Select(t => string.Concat(t.Text)).ToList()), ttl),
        };
    }

    /// <summary>RFC 2308 §5: the SOA's TTL capped by its MINIMUM field; without an SOA, not kept.</summary>
    private static TimeSpan NegativeTtl(IDnsQueryResponse response) =>
        response.Authorities.OfType<SoaRecord>().Select(s => TimeSpan.FromSeconds(Math.Min(s.TimeToLive, s.Minimum))).FirstOrDefault();

    /// <summary>At most 253 characters in labels of 1 to 63 (RFC 1035 §2.3.4).</summary>
    private static bool Askable(string name) =>
        name.Length is > 0 and <= 253 && name.Split('.').All(l => l.Length is > 0 and <= 63);

    private static QueryType ToQueryType(DnsRecordType type) => type switch
    {
        DnsRecordType.A => QueryType.A,
        DnsRecordType.Aaaa => QueryType.AAAA,
        DnsRecordType.Mx => QueryType.MX,
        DnsRecordType.Reverse => QueryType.PTR,
        _ => QueryType.TXT,
    };

    private static DnsRecordType? ToRecordType(ResourceRecordType type) => type switch
    {
        ResourceRecordType.A => DnsRecordType.A,
        ResourceRecordType.AAAA => DnsRecordType.Aaaa,
        ResourceRecordType.MX => DnsRecordType.Mx,
        ResourceRecordType.PTR => DnsRecordType.Reverse,
        ResourceRecordType.TXT => DnsRecordType.Txt,
        _ => null,
    };
}
