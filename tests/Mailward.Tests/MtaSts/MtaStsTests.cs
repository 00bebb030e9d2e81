// MTA-STS (RFC 8461) for remote delivery: the record and policy parsers and the MX match (§3, §4.1);
// the policy fetched over real HTTPS from a loopback server whose certificate chains to a test CA
// trusted through Remote:ExtraRootCertificates, with its name asked from a real DNS server on
// loopback; the cache by id and max_age in memory and on disk, with each crash state of the disk
// file; the enforce and testing rules; and verified TLS on a route that requires it, delivered to a
// test MTA over real STARTTLS or deferred.
using System.Net;
using Mailward.Core.Delivery.Remote;
using Mailward.Core.MtaSts;
using Mailward.Core.PolicyDns;
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.MtaSts;

public sealed class MtaStsTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2026, 11, 29, 10, 0, 0, TimeSpan.Zero);
    private static readonly IPAddress DnsAddress = IPAddress.Parse("127.0.0.53");
    private static readonly IPAddress WebAddress = IPAddress.Parse("127.0.0.44");
    private const string Enforce = "version: STSv1\r\nmode: enforce\r\nmx: mx1.remote.test\r\nmx: *.backup.remote.test\r\nmax_age: 86400\r\n";

    private readonly TempFolder _tmp = new();
    private readonly TestCertificates _certs = new();
    private DnsTestServer _dns = null!;
    private TestPolicyHost _web = null!;

    public Task InitializeAsync()
    {
        _dns = new DnsTestServer(DnsAddress);
        _web = new TestPolicyHost(WebAddress, _certs.Server("mta-sts.remote.test")) { Body = Enforce };
        _dns.Add("mta-sts.remote.test", "A", WebAddress.ToString());
        _dns.Add("_mta-sts.remote.test", "TXT", "v=STSv1; id=20261129T1000;");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _web.DisposeAsync();
        await _dns.DisposeAsync();
        _certs.Dispose();
        _tmp.Dispose();
    }

    private MtaStsPolicies Policies(TimeProvider clock, bool trusted = true, string? folder = null)
    {
        var dns = new PolicyDnsResolver(new PolicyDnsOptions([_dns.Endpoint], TimeSpan.FromSeconds(2), 0, 0, TimeSpan.FromHours(1)), clock);
        var options = new MtaStsOptions { Port = _web.Port, FetchTimeout = TimeSpan.FromSeconds(5), MaxPolicyBytes = 4096 };
        var trust = trusted ? RemoteTrust.Load(_certs.RootFile) : RemoteTrust.SystemRoots;
        return new MtaStsPolicies(dns, new MtaStsFetcher(dns, trust, options), new MtaStsStore(folder ?? _tmp.Combine("mta-sts"), 4096), options, clock);
    }

    [Fact]
    public void Records_and_policies_parse_as_RFC_8461_says()
    {
        Assert.Equal("abc123", MtaStsPolicy.RecordId(["v=STSv1; id=abc123;"]));
        Assert.Equal("20160831085700Z", MtaStsPolicy.RecordId(["v=spf1 -all", "v=STSv1; id=20160831085700Z"]));
        Assert.Null(MtaStsPolicy.RecordId(["v=STSv1; id=a;", "v=STSv1; id=b;"])); // §3.1: two records are none
        Assert.Null(MtaStsPolicy.RecordId(["v=STSv1; id=not-alnum;"]));
        Assert.Null(MtaStsPolicy.RecordId(["v=STSv10; id=abc;"]));

        var p = MtaStsPolicy.Parse(Enforce, out var error)!;
        Assert.Null(error);
        Assert.Equal((MtaStsMode.Enforce, TimeSpan.FromDays(1)), (p.Mode, p.MaxAge));
        Assert.True(p.MatchesMx("mx1.remote.test"));
        Assert.True(p.MatchesMx("MX1.Remote.Test."));
        Assert.True(p.MatchesMx("a.backup.remote.test"));
        Assert.False(p.MatchesMx("a.b.backup.remote.test")); // §4.1: the star is one label
        Assert.False(p.MatchesMx("backup.remote.test"));
        Assert.False(p.MatchesMx("mx2.remote.test"));
        Assert.Equal(MtaStsMode.Testing, MtaStsPolicy.Parse("version: STSv1\nmode: testing\nmx: a.test\nmax_age: 1\nextension: ignored\n", out _)!.Mode);
        Assert.Equal(MtaStsMode.None, MtaStsPolicy.Parse("version: STSv1\nmode: none\nmax_age: 0\n", out _)!.Mode);
        Assert.Null(MtaStsPolicy.Parse("version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 1\n", out error));
        Assert.Equal("version is not STSv1", error);
        Assert.Null(MtaStsPolicy.Parse("version: STSv1\nmode: enforce\nmax_age: 1\n", out error));
        Assert.Equal("no mx pattern", error);
        Assert.Null(MtaStsPolicy.Parse("version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 31557601\n", out _));
        Assert.Null(MtaStsPolicy.Parse("version: STSv1\nmode: strict\nmx: a.test\nmax_age: 1\n", out _));
        Assert.Null(MtaStsPolicy.Parse("<html>not a policy</html>", out _));
    }

    [Fact]
    public async Task A_policy_is_fetched_over_verified_HTTPS_and_cached_by_its_id_until_max_age()
    {
        var clock = new ManualTimeProvider(Start);
        var policies = Policies(clock);
        var policy = await policies.ForAsync("remote.test", default);
        Assert.Equal(MtaStsMode.Enforce, policy!.Mode);
        Assert.Equal(["/.well-known/mta-sts.txt"], _web.Paths);
        Assert.NotNull(await policies.ForAsync("Remote.Test.", default));
        Assert.Equal(1, _web.Requests); // the same id: not fetched again

        // The web server goes away and the record with it: the cached policy stands until max_age (§5.1).
        _web.Status = "500 Internal Server Error";
        _dns.Clear();
        clock.Advance(TimeSpan.FromHours(23));
        Assert.NotNull(await policies.ForAsync("remote.test", default));
        // A restart reads it from disk, without a fetch.
        Assert.Equal(MtaStsMode.Enforce, (await Policies(clock).ForAsync("remote.test", default))!.Mode);
        Assert.Equal(1, _web.Requests);
        clock.Advance(TimeSpan.FromHours(2));
        Assert.Null(await policies.ForAsync("remote.test", default)); // past max_age
        Assert.False(File.Exists(_tmp.Combine("mta-sts", "remote.test")));

        // A new id fetches the new policy.
        _dns.Add("mta-sts.remote.test", "A", WebAddress.ToString());
        _dns.Add("_mta-sts.remote.test", "TXT", "v=STSv1; id=second;");
        _web.Status = "200 OK";
        _web.Body = "version: STSv1\nmode: testing\nmx: mx1.remote.test\nmax_age: 600\n";
        Assert.Equal(MtaStsMode.Testing, (await policies.ForAsync("remote.test", default))!.Mode);
        Assert.Equal(2, _web.Requests);
        Assert.StartsWith(MtaStsStore.Magic + "\ndomain remote.test\nid second\n", await File.ReadAllTextAsync(_tmp.Combine("mta-sts", "remote.test")));
    }

    [Fact]
    public async Task A_policy_host_that_is_not_trusted_or_answers_wrongly_gives_no_policy()
    {
        var clock = new ManualTimeProvider(Start);
        Assert.Null(await Policies(clock, trusted: false).ForAsync("remote.test", default)); // chains to no root the system knows
        Assert.Equal(0, _web.Requests);
        foreach (var (status, type, body, location) in new[]
                 {
                     ("302 Found", "text/plain", "", "https://elsewhere.test/p.txt"), // §3.3: redirects are not followed
                     ("200 OK", "text/html", Enforce, null),
                     ("200 OK", "text/plain", Enforce + new string('#', 5000), null), // over MaxPolicyBytes
                     ("404 Not Found", "text/plain", "", null),
                 })
        {
            (_web.Status, _web.ContentType, _web.Body, _web.Location) = (status, type, body, location);
            Assert.Null(await Policies(clock, folder: _tmp.Combine("other")).ForAsync("remote.test", default));
        }
        Assert.Equal(4, _web.Requests);
    }

    [Fact]
    public void The_disk_cache_survives_each_crash_state()
    {
        var folder = _tmp.Combine("disk");
        var store = new MtaStsStore(folder, 4096);
        var policy = MtaStsPolicy.Parse(Enforce, out _)!;
        store.Save(new CachedMtaSts("remote.test", "one", Start, Start.AddDays(1), Enforce, policy));
        var path = Path.Combine(folder, "remote.test");
        var whole = File.ReadAllBytes(path);
        Assert.Equal(("one", Enforce), (store.Load("remote.test")!.Id, store.Load("remote.test")!.Text));

        // A crash during a later write leaves its temporary file beside the whole old one: start-up removes it.
        File.WriteAllBytes(path + ".tmp", whole[..20]);
        store.RemoveLeftovers();
        Assert.False(File.Exists(path + ".tmp"));
        Assert.Equal("one", store.Load("remote.test")!.Id);

        // A file cut short, with bytes after its end marker, or about another domain, is no policy and is removed.
        foreach (var bad in new[] { whole[..^1], [.. whole, (byte)'x'], whole[..(whole.Length - 5)] })
        {
            File.WriteAllBytes(path, bad);
            Assert.Null(store.Load("remote.test"));
            Assert.False(File.Exists(path));
        }
        File.WriteAllBytes(Path.Combine(folder, "other.test"), whole);
        Assert.Null(store.Load("other.test"));
        Assert.Null(store.Load("../etc/passwd"));
    }

    [Fact]
    public void Enforce_allows_only_the_policys_MX_hosts_over_verified_TLS_and_testing_allows_all()
    {
        var enforce = new DestinationTls("remote.test", MtaStsPolicy.Parse(Enforce, out _), null, RemoteTrust.SystemRoots);
        Assert.True(enforce.Allows("mx1.remote.test"));
        Assert.False(enforce.Allows("mx9.remote.test"));
        Assert.Equal(("mx1.remote.test", "MTA-STS policy of remote.test"), (enforce.For("mx1.remote.test")!.VerifyName, enforce.For("mx1.remote.test")!.Why));
        var testing = enforce with { Policy = MtaStsPolicy.Parse(Enforce.Replace("enforce", "testing", StringComparison.Ordinal), out _) };
        Assert.True(testing.Allows("mx9.remote.test"));
        Assert.Null(testing.For("mx9.remote.test")); // opportunistic, as before
        Assert.Null(DestinationTls.None("remote.test").For("mx1.remote.test"));
    }

    [Fact]
    public async Task A_route_that_requires_TLS_gets_mail_only_over_verified_TLS()
    {
        await using var plain = new TestMta();
        await using var wrongName = new TestMta("127.0.0.1") { Certificate = _certs.Server("other.test") };
        await using var good = new TestMta("127.0.0.1") { Certificate = _certs.Server("127.0.0.1") };
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"], "--Delivery:Enabled=true",
            $"--Remote:Routes:plain.test=127.0.0.1:{plain.Port}", $"--Remote:Routes:wrong.test=127.0.0.1:{wrongName.Port}",
            $"--Remote:Routes:good.test=127.0.0.1:{good.Port}", "--Remote:RequireTlsRoutes=plain.test,wrong.test,good.test",
            $"--Remote:ExtraRootCertificates={_certs.RootFile}");
        await DeliveryTestMail.SendAsync(server, "a@good.test", "good", from: "me@hosted.test");
        await DeliveryTestMail.SendAsync(server, "b@plain.test", "plain", from: "me@hosted.test");
        await DeliveryTestMail.SendAsync(server, "c@wrong.test", "wrong", from: "me@hosted.test");
        await good.WaitForAsync(1);
        Assert.True(Assert.Single(good.Received).Tls);
        for (var i = 0; i < 200 && (server.Log.Count(l => l.Contains("result=deferred", StringComparison.Ordinal)) < 2 || server.Queue.Messages.Count != 2); i++)
            await Task.Delay(50);
        Assert.Equal(2, server.Queue.Messages.Count); // both kept for a later try, the good one delivered
        Assert.Empty(plain.Received);
        Assert.Empty(wrongName.Received);
        Assert.Contains(server.Log, l => l.Contains("to=<b@plain.test>", StringComparison.Ordinal) && l.Contains("result=deferred", StringComparison.Ordinal)
            && l.Contains("TLS required (Remote:RequireTlsRoutes plain.test) but 127.0.0.1 [127.0.0.1] does not offer STARTTLS", StringComparison.Ordinal));
        Assert.Contains(server.Log, l => l.Contains("to=<c@wrong.test>", StringComparison.Ordinal) && l.Contains("result=deferred", StringComparison.Ordinal)
            && l.Contains("TLS required (Remote:RequireTlsRoutes wrong.test) but the certificate is not valid for 127.0.0.1", StringComparison.Ordinal));
    }
}
