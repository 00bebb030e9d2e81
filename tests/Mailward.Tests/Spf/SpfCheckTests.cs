// SPF (RFC 7208) against a real DNS server on loopback (DnsTestServer): every case of SpfCorpus
// gives the RFC's result (and explanation) in Mailward, and the same answer as pyspf (Debian's
// python3-spf, an independent implementation) asking the same server; the per-check deadline ends
// a check that DNS keeps waiting with temperror.
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Mailward.Core.PolicyDns;
using Mailward.Core.Spf;
using Mailward.Tests.Support;

namespace Mailward.Tests.Spf;

public sealed class SpfCheckTests
{
    private static readonly IPAddress DnsAddress = IPAddress.Parse("127.0.0.54");

    private static SpfChecker Checker(DnsTestServer dns, SpfOptions? options = null, int timeoutMs = 2000) =>
        new(new PolicyDnsResolver(new PolicyDnsOptions([dns.Endpoint], TimeSpan.FromMilliseconds(timeoutMs), 0, 1000, TimeSpan.FromHours(1))),
            options ?? SpfOptions.Default, "mail.test");

    private static async Task<List<SpfOutcome>> MailwardResults(DnsTestServer dns)
    {
        var checker = Checker(dns);
        var results = new List<SpfOutcome>();
        foreach (var c in SpfCorpus.Cases)
            results.Add(await checker.CheckMailFromAsync(IPAddress.Parse(c.Ip), c.Sender, c.Helo));
        return results;
    }

    [Fact]
    public async Task Every_case_gives_the_RFC_result()
    {
        Assert.True(SpfCorpus.Cases.Count >= 40);
        await using var dns = new DnsTestServer(DnsAddress);
        SpfCorpus.Serve(dns);
        var results = await MailwardResults(dns);
        var wrong = SpfCorpus.Cases.Zip(results)
            .Where(p => p.First.Expected != p.Second.Result || p.First.Explanation is { } e && e != p.Second.Explanation)
            .Select(p => $"{p.First.Name}: expected {p.First.Expected} {p.First.Explanation}, got {p.Second.Result} {p.Second.Explanation} ({p.Second.Problem})")
            .ToList();
        Assert.Empty(wrong);
    }

    [FactWhenPySpf]
    public async Task Every_case_gives_what_pyspf_gives()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        SpfCorpus.Serve(dns);
        var ours = await MailwardResults(dns);
        var theirs = await PySpfResults(dns);
        Assert.Equal(SpfCorpus.Cases.Count, theirs.Count);
        var differ = new List<string>();
        for (var i = 0; i < ours.Count; i++)
        {
            var c = SpfCorpus.Cases[i];
            if (ours[i].Name != theirs[i].Result || c.Explanation is not null && ours[i].Explanation != theirs[i].Explanation)
                differ.Add($"{c.Name}: Mailward {ours[i].Name} '{ours[i].Explanation}' ({ours[i].Problem}), pyspf {theirs[i].Result} '{theirs[i].Explanation}'");
        }
        Assert.Empty(differ);
    }

    [Fact]
    public async Task A_check_that_DNS_keeps_waiting_ends_at_the_deadline_with_temperror()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        dns.Add("slow.test", "TXT", "v=spf1 a:h1.slow.test a:h2.slow.test a:h3.slow.test -all");
        foreach (var h in new[] { "h1", "h2", "h3" })
            dns.Fail($"{h}.slow.test", -1); // never answered
        var checker = Checker(dns, SpfOptions.Default with { Deadline = TimeSpan.FromSeconds(1) }, timeoutMs: 5000);
        var clock = Stopwatch.StartNew();
        var outcome = await checker.CheckMailFromAsync(IPAddress.Parse(SpfCorpus.V4), "joe@slow.test", "client.example");
        Assert.Equal(SpfResult.TempError, outcome.Result);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(4)); // the deadline, not 3 x 5 s
    }

    [Fact]
    public async Task The_lookup_limits_are_settings()
    {
        await using var dns = new DnsTestServer(DnsAddress);
        SpfCorpus.Serve(dns);
        var v4 = IPAddress.Parse(SpfCorpus.V4);
        Assert.Equal(SpfResult.PermError, (await Checker(dns, SpfOptions.Default with { MaxLookups = 9 }).CheckMailFromAsync(v4, "joe@lim10.test", "x.test")).Result);
        Assert.Equal(SpfResult.Pass, (await Checker(dns, SpfOptions.Default with { MaxLookups = 11 }).CheckMailFromAsync(v4, "joe@lim11.test", "x.test")).Result);
        Assert.Equal(SpfResult.PermError, (await Checker(dns, SpfOptions.Default with { MaxVoidLookups = 1 }).CheckMailFromAsync(v4, "joe@void2.test", "x.test")).Result);
    }

    private sealed record PyResult(string Result, string Explanation);

    /// <summary>pyspf's check2 for every case, asking the test's DNS server through dnspython (UDP, then TCP on truncation).</summary>
    private static async Task<List<PyResult>> PySpfResults(DnsTestServer dns)
    {
        using var tmp = new TempFolder();
        var cases = tmp.Combine("cases.json");
        await File.WriteAllTextAsync(cases, JsonSerializer.Serialize(SpfCorpus.Cases.Select(c => new { ip = c.Ip, sender = c.Sender, helo = c.Helo })));
        var script = tmp.Combine("check.py");
        await File.WriteAllTextAsync(script, """
            import json, sys
            import dns.name, dns.resolver
            import spf
            # pyspf's own preference, dnspython (SERVFAIL and timeouts are its TempError), asking only the test's server.
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [sys.argv[1]]
            resolver.port = int(sys.argv[2])
            resolver.domain = dns.name.root
            resolver.search = []
            resolver.timeout = resolver.lifetime = 10
            dns.resolver.default_resolver = resolver
            spf.DNSLookup = spf.DNSLookup_dnspython
            out = []
            for c in json.load(open(sys.argv[3])):
                result, explanation = spf.check2(i=c['ip'], s=c['sender'], h=c['helo'], receiver='mail.test', querytime=20)
                out.append({'Result': result, 'Explanation': explanation})
            print(json.dumps(out))
            """);
        var psi = new ProcessStartInfo("/usr/bin/python3") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { script, dns.Endpoint.Address.ToString(), dns.Endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), cases })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(cts.Token);
        Assert.True(p.ExitCode == 0, await stderr);
        return JsonSerializer.Deserialize<List<PyResult>>(await stdout)!;
    }
}

/// <summary>Skipped unless Debian's pyspf and dnspython are installed for /usr/bin/python3 (.ci/run installs both).</summary>
public sealed class FactWhenPySpfAttribute : FactAttribute
{
    public FactWhenPySpfAttribute()
    {
        if (!File.Exists("/usr/bin/python3") || !File.Exists("/usr/lib/python3/dist-packages/spf.py") || !File.Exists("/usr/lib/python3/dist-packages/dns/resolver.py"))
            Skip = "pyspf is not installed (apt-get install python3-spf python3-dnspython; .ci/run does)";
    }
}
