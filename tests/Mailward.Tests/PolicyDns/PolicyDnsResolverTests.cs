// The policy resolver against a real DNS server on loopback (DnsTestServer, UDP and TCP): each
// record type, the outcomes a policy check must tell apart (answer, no data, no such name, error),
// a timeout and a SERVFAIL as errors, TCP after a truncated UDP answer, and the answer cache
// (TTL respected on a driven clock, bounded, errors never kept).
using System.Net;
using Mailward.Core.PolicyDns;
using Mailward.Tests.Support;

namespace Mailward.Tests.PolicyDns;

public sealed class PolicyDnsResolverTests
{
    private static readonly IPAddress ServerAddress = IPAddress.Parse("127.0.0.53");

    private static PolicyDnsResolver Resolver(DnsTestServer dns, TimeProvider? time = null, int entries = 100, int timeoutMs = 3000) =>
        new(new PolicyDnsOptions([dns.Endpoint], TimeSpan.FromMilliseconds(timeoutMs), 0, entries, TimeSpan.FromHours(1)), time);

    [Fact]
    public async Task Answers_each_record_type()
    {
        await using var dns = new DnsTestServer(ServerAddress);
        dns.Add("host.example", "A", "192.0.2.1", "192.0.2.2")
            .Add("host.example", "AAAA", "2001:db8::1")
            .Add("example", "MX", "20 mx2.example", "10 MX1.example.")
            .Add("example", "TXT", "v=spf1 -all", "other")
            .AddTxtStrings("split.example", "v=spf1 ", "ip4:192.0.2.1", " -all")
            .Add("1.2.0.192.in-addr.arpa", "PTR", "host.example")
            .Add("alias.example", "CNAME", "host.example");
        var r = Resolver(dns);

        Assert.Equal(["192.0.2.1", "192.0.2.2"], (await r.QueryAsync("HOST.example.", DnsRecordType.A)).Addresses.Select(a => a.ToString()));
        Assert.Equal("2001:db8::1", Assert.Single((await r.QueryAsync("host.example", DnsRecordType.Aaaa)).Addresses).ToString());
        Assert.Equal(["mx1.example", "mx2.example"], (await r.QueryAsync("example", DnsRecordType.Mx)).Names);
        Assert.Equal(["v=spf1 -all", "other"], (await r.QueryAsync("example", DnsRecordType.Txt)).Texts);
        Assert.Equal("v=spf1 ip4:192.0.2.1 -all", Assert.Single((await r.QueryAsync("split.example", DnsRecordType.Txt)).Texts)); // RFC 7208 §3.3
        Assert.Equal("host.example", Assert.Single((await r.QueryAsync("1.2.0.192.in-addr.arpa", DnsRecordType.Reverse)).Names));
        Assert.Equal(2, (await r.QueryAsync("alias.example", DnsRecordType.A)).Addresses.Count);
    }

    [Fact]
    public async Task No_data_no_such_name_and_errors_are_told_apart()
    {
        await using var dns = new DnsTestServer(ServerAddress);
        dns.Add("host.example", "A", "192.0.2.1").Add("deep.sub.example", "A", "192.0.2.3").Fail("broken.example").Fail("refusing.example", 5);
        var r = Resolver(dns);

        Assert.Equal(DnsOutcome.NoData, (await r.QueryAsync("host.example", DnsRecordType.Txt)).Outcome);
        Assert.Equal(DnsOutcome.NoData, (await r.QueryAsync("sub.example", DnsRecordType.A)).Outcome); // an empty non-terminal exists
        Assert.Equal(DnsOutcome.NxDomain, (await r.QueryAsync("missing.example", DnsRecordType.A)).Outcome);
        Assert.True((await r.QueryAsync("missing.example", DnsRecordType.A)).IsVoid);
        Assert.Equal(DnsOutcome.Error, (await r.QueryAsync("broken.example", DnsRecordType.A)).Outcome);
        Assert.Equal(DnsOutcome.Error, (await r.QueryAsync("refusing.example", DnsRecordType.Txt)).Outcome);
        Assert.Equal(DnsOutcome.Error, (await r.QueryAsync(new string('a', 64) + ".example", DnsRecordType.A)).Outcome); // a label too long is never asked
    }

    [Fact]
    public async Task A_server_that_does_not_answer_is_an_error_within_the_timeout()
    {
        await using var dns = new DnsTestServer(ServerAddress);
        dns.Fail("silent.example", -1);
        var r = Resolver(dns, timeoutMs: 300);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var answer = await r.QueryAsync("silent.example", DnsRecordType.A);
        Assert.Equal(DnsOutcome.Error, answer.Outcome);
        Assert.InRange(started.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_truncated_UDP_answer_is_asked_again_over_TCP()
    {
        await using var dns = new DnsTestServer(ServerAddress) { UdpLimit = 512 };
        var big = Enumerable.Range(0, 8).Select(i => $"record {i} " + new string('x', 200)).ToArray();
        dns.Add("big.example", "TXT", big);
        var answer = await Resolver(dns).QueryAsync("big.example", DnsRecordType.Txt);
        Assert.Equal(big, answer.Texts);
        Assert.Contains("big.example TXT tcp", dns.Questions);
    }

    [Fact]
    public async Task Answers_are_cached_for_their_TTL_and_errors_not_at_all()
    {
        await using var dns = new DnsTestServer(ServerAddress) { Ttl = 60 };
        dns.Add("host.example", "A", "192.0.2.1").Fail("broken.example");
        var clock = new ManualTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var r = Resolver(dns, clock);

        await r.QueryAsync("host.example", DnsRecordType.A);
        clock.Advance(TimeSpan.FromSeconds(59));
        await r.QueryAsync("host.example", DnsRecordType.A);
        Assert.Equal(1, Asked(dns, "host.example A"));
        clock.Advance(TimeSpan.FromSeconds(2));
        await r.QueryAsync("host.example", DnsRecordType.A);
        Assert.Equal(2, Asked(dns, "host.example A"));

        await r.QueryAsync("broken.example", DnsRecordType.A);
        await r.QueryAsync("broken.example", DnsRecordType.A);
        Assert.Equal(2, Asked(dns, "broken.example A"));

        // No SOA, no negative caching (RFC 2308 §5); with one, for its TTL.
        await r.QueryAsync("missing.example", DnsRecordType.A);
        await r.QueryAsync("missing.example", DnsRecordType.A);
        Assert.Equal(2, Asked(dns, "missing.example A"));
        dns.NegativeTtl = 30;
        await r.QueryAsync("gone.example", DnsRecordType.A);
        await r.QueryAsync("gone.example", DnsRecordType.A);
        Assert.Equal(1, Asked(dns, "gone.example A"));
    }

    [Fact]
    public async Task The_cache_is_bounded_and_drops_the_least_recently_used()
    {
        await using var dns = new DnsTestServer(ServerAddress);
        foreach (var n in new[] { "a", "b", "c" })
            dns.Add($"{n}.example", "A", "192.0.2.1");
        var r = Resolver(dns, entries: 2);
        await r.QueryAsync("a.example", DnsRecordType.A);
        await r.QueryAsync("b.example", DnsRecordType.A);
        await r.QueryAsync("a.example", DnsRecordType.A); // a is now the most recent
        await r.QueryAsync("c.example", DnsRecordType.A); // b goes
        Assert.Equal(2, r.CachedAnswers);
        await r.QueryAsync("a.example", DnsRecordType.A);
        await r.QueryAsync("b.example", DnsRecordType.A);
        Assert.Equal(1, Asked(dns, "a.example A"));
        Assert.Equal(2, Asked(dns, "b.example A"));
    }

    private static int Asked(DnsTestServer dns, string question) => dns.Questions.Count(q => q == question);
}
