// The narrow DNS seam the door's policy checks use (DNSBL, SPF; later DKIM keys and DMARC): one
// question, one answer classified the way RFC 7208 §4.4 and §4.6.4 need it (an answer, no data,
// no such name, or an error that must never be taken as a "no").
using System.Net;

namespace Mailward.Core.PolicyDns;

public enum DnsRecordType
{
    A,
    Aaaa,
    Mx,
    Txt,
    /// <summary>PTR: the names an address gives itself (asked at its in-addr.arpa or ip6.arpa name).</summary>
    Reverse,
}

public enum DnsOutcome
{
    /// <summary>RCODE 0 with at least one record of the type asked.</summary>
    Answer,

    /// <summary>RCODE 0 without a record of the type asked (a "void" answer, RFC 7208 §4.6.4).</summary>
    NoData,

    /// <summary>RCODE 3, Name Error (also void).</summary>
    NxDomain,

    /// <summary>SERVFAIL, REFUSED, any other RCODE, a timeout or a name that cannot be asked: temporary, never a "not listed" or "no record".</summary>
    Error,
}

/// <param name="Addresses">A and AAAA answers.</param>
/// <param name="Names">MX exchanges (best preference first) and PTR names, without the final dot.</param>
/// <param name="Texts">TXT answers, one per record, its character-strings joined without separators (RFC 7208 §3.3).</param>
/// <param name="Error">For <see cref="DnsOutcome.Error"/>: what went wrong, for the log.</param>
public sealed record DnsAnswer(DnsOutcome Outcome, IReadOnlyList<IPAddress> Addresses, IReadOnlyList<string> Names, IReadOnlyList<string> Texts,
    string? Error = null)
{
    public static DnsAnswer NxDomain { get; } = new(DnsOutcome.NxDomain, [], [], []);
    public static DnsAnswer NoData { get; } = new(DnsOutcome.NoData, [], [], []);

    public static DnsAnswer Failed(string error) => new(DnsOutcome.Error, [], [], [], error);

    /// <summary>No data or no such name: a "void lookup" in RFC 7208 §4.6.4's sense.</summary>
    public bool IsVoid => Outcome is DnsOutcome.NoData or DnsOutcome.NxDomain;
}

public interface IPolicyDns
{
    /// <summary>Asks for <paramref name="type"/> records of <paramref name="name"/>; never throws for DNS trouble (that is <see cref="DnsOutcome.Error"/>).</summary>
    ValueTask<DnsAnswer> QueryAsync(string name, DnsRecordType type, CancellationToken ct = default);
}
