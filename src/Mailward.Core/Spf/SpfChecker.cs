// check_host() of RFC 7208 §4: the domain's SPF record fetched (§4.4, §4.5), parsed whole (§4.6),
// its mechanisms tried in order (§5) with include and redirect (§6.1) recursing, exp= read on a
// fail (§6.2). The limits of §4.6.4 bound every check: at most Spf:MaxDnsLookups terms that ask
// DNS (include, a, mx, ptr, exists, redirect), Spf:MaxVoidLookups answers of "no data" or "no such
// name", 10 MX or PTR names per term, and Spf:DeadlineSeconds for the whole check.
using System.Net;
using System.Net.Sockets;
using Mailward.Core.Dnsbl;
using Mailward.Core.Policy;
using Mailward.Core.PolicyDns;

namespace Mailward.Core.Spf;

public sealed class SpfChecker(IPolicyDns dns, SpfOptions options, string receiver, TimeProvider? time = null)
{
    private const int MaxNamesPerTerm = 10; // §4.6.4: MX names, PTR names
    private const int MaxDepth = 20; // a guard beside the lookup limit, which already ends every loop

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public SpfOptions Options => options;

    /// <summary>This host's name: %{r} in exp= text (§7.2).</summary>
    public string Receiver => receiver;

    /// <summary>
    /// check_host(ip, domain, sender) for the MAIL FROM identity (§2.4): <paramref name="sender"/>
    /// is local@domain, or empty for the null sender, which is then postmaster@HELO (§2.4).
    /// </summary>
    public ValueTask<SpfOutcome> CheckMailFromAsync(IPAddress client, string sender, string helo, CancellationToken ct = default)
    {
        if (sender.Length == 0)
            return CheckHeloAsync(client, helo, ct);
        var at = sender.LastIndexOf('@');
        var domain = sender[(at + 1)..];
        if (at <= 0)
            sender = "postmaster@" + domain; // §4.3: no local part
        return CheckHostAsync(client, domain, sender, helo, ct);
    }

    /// <summary>check_host for the HELO identity (§2.3): the domain is the HELO name, the sender postmaster@HELO.</summary>
    public ValueTask<SpfOutcome> CheckHeloAsync(IPAddress client, string helo, CancellationToken ct = default) =>
        CheckHostAsync(client, helo, "postmaster@" + helo, helo, ct);

    public async ValueTask<SpfOutcome> CheckHostAsync(IPAddress client, string domain, string sender, string helo, CancellationToken ct = default)
    {
        domain = domain.TrimEnd('.').ToLowerInvariant();
        if (client.IsIPv4MappedToIPv6)
            client = client.MapToIPv4(); // §5: an IPv4-mapped client is checked as IPv4
        // §4.3: a malformed domain (empty label, label over 63, a single label, an address literal) has no policy.
        if (!WellFormed(domain))
            return new SpfOutcome(SpfResult.None, domain);
        using var deadline = new CancellationTokenSource(options.Deadline, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, deadline.Token);
        var check = new Check(this, client, sender, helo, linked.Token);
        try
        {
            var record = await check.RecordAsync(domain, countVoid: false);
            if (record is null)
                return new SpfOutcome(SpfResult.None, domain);
            var (result, mechanism, decidingDomain, decidingRecord) = await check.EvaluateAsync(domain, record, 0);
            string? explanation = null;
            if (result == SpfResult.Fail && decidingRecord.Explanation is { } exp)
                explanation = await check.ExplanationAsync(exp, decidingDomain);
            return new SpfOutcome(result, domain, explanation, Mechanism: mechanism);
        }
        catch (SpfPermErrorException e)
        {
            return new SpfOutcome(SpfResult.PermError, domain, Problem: e.Message);
        }
        catch (SpfTempErrorException e)
        {
            return new SpfOutcome(SpfResult.TempError, domain, Problem: e.Message);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new SpfOutcome(SpfResult.TempError, domain, Problem: $"the check took longer than {options.Deadline.TotalSeconds:0} s");
        }
    }

    private static bool WellFormed(string domain) =>
        domain.Length is > 0 and <= 253 && domain.Contains('.', StringComparison.Ordinal) && !IPAddress.TryParse(domain, out _) &&
        domain.Split('.').All(l => l.Length is > 0 and <= 63);

    /// <summary>One check's state: its counters, macro values and the validated names of %{p}.</summary>
    private sealed class Check(SpfChecker owner, IPAddress client, string sender, string helo, CancellationToken ct)
    {
        private readonly bool _v6 = client.AddressFamily == AddressFamily.InterNetworkV6;
        private int _lookups;
        private int _voids;
        private List<string>? _validatedNames;

        private DnsRecordType AddressType => _v6 ? DnsRecordType.Aaaa : DnsRecordType.A;

        /// <summary>The domain's one SPF record (§4.5), null when it has none; errors per §4.4.</summary>
        public async ValueTask<SpfRecord?> RecordAsync(string domain, bool countVoid)
        {
            var answer = await QueryAsync(domain, DnsRecordType.Txt, countVoid);
            var records = answer.Texts.Where(SpfRecord.IsSpf).ToList();
            if (records.Count > 1)
                throw new SpfPermErrorException($"{domain} has more than one SPF record"); // §4.5
            if (records.Count == 0)
                return null;
            if (!records[0].All(char.IsAscii))
                throw new SpfPermErrorException($"{domain}'s SPF record is not ASCII"); // §3: US-ASCII only
            return SpfRecord.Parse(records[0]);
        }

        /// <summary>§4.6: the first matching mechanism's qualifier; else redirect=; else neutral.</summary>
        public async ValueTask<(SpfResult, string?, string, SpfRecord)> EvaluateAsync(string domain, SpfRecord record, int depth)
        {
            if (depth > MaxDepth)
                throw new SpfPermErrorException("includes and redirects nest too deep");
            foreach (var m in record.Mechanisms)
            {
                ct.ThrowIfCancellationRequested();
                if (await MatchesAsync(m, domain, depth))
                    return (m.Qualifier, m.Text, domain, record);
            }
            if (record.Redirect is { } spec && !record.Mechanisms.Any(m => m.Kind == SpfMechanismKind.All)) // §6.1: ignored beside "all"
            {
                CountLookup();
                var target = await DomainAsync(spec, domain);
                var next = (Valid(target) ? await RecordAsync(target, countVoid: true) : null)
                    ?? throw new SpfPermErrorException($"redirect={target} has no SPF record"); // §6.1
                return await EvaluateAsync(target, next, depth + 1); // the target's exp= applies, not this record's
            }
            return (SpfResult.Neutral, null, domain, record);
        }

        private async ValueTask<bool> MatchesAsync(SpfMechanism m, string domain, int depth)
        {
            switch (m.Kind)
            {
                case SpfMechanismKind.All:
                    return true;
                case SpfMechanismKind.Ip4:
                case SpfMechanismKind.Ip6:
                    return m.Network is { } network && network.BaseAddress.AddressFamily == client.AddressFamily && network.Contains(client);
                case SpfMechanismKind.Include:
                    {
                        // §5.2: pass matches; fail, softfail and neutral do not; errors end the check; none is a permerror.
                        CountLookup();
                        var target = await DomainAsync(m.DomainSpec!, domain);
                        if (target == domain)
                            throw new SpfPermErrorException($"{m.Text} includes itself");
                        var record = (Valid(target) ? await RecordAsync(target, countVoid: true) : null)
                            ?? throw new SpfPermErrorException($"{m.Text}: {target} has no SPF record");
                        var (result, _, _, _) = await EvaluateAsync(target, record, depth + 1);
                        return result == SpfResult.Pass;
                    }
                case SpfMechanismKind.A:
                    {
                        CountLookup();
                        var target = m.DomainSpec is null ? domain : await DomainAsync(m.DomainSpec, domain);
                        return InAny((await QueryAsync(target, AddressType)).Addresses, m);
                    }
                case SpfMechanismKind.Mx:
                    {
                        CountLookup();
                        var target = m.DomainSpec is null ? domain : await DomainAsync(m.DomainSpec, domain);
                        var hosts = (await QueryAsync(target, DnsRecordType.Mx)).Names;
                        if (hosts.Count > MaxNamesPerTerm)
                            throw new SpfPermErrorException($"{m.Text}: {target} has more than {MaxNamesPerTerm} MX names"); // §4.6.4
                        foreach (var host in hosts)
                        {
                            if (InAny((await QueryAsync(host, AddressType)).Addresses, m))
                                return true;
                        }
                        return false;
                    }
                case SpfMechanismKind.Ptr:
                    {
                        CountLookup();
                        var target = m.DomainSpec is null ? domain : await DomainAsync(m.DomainSpec, domain);
                        // §5.5: a validated name that is the target or below it.
                        return (await ValidatedNamesAsync()).Any(n => n == target || n.EndsWith("." + target, StringComparison.Ordinal));
                    }
                default: // exists, §5.7: always an A query, whatever the client's family
                    {
                        CountLookup();
                        var target = await DomainAsync(m.DomainSpec!, domain);
                        return (await QueryAsync(target, DnsRecordType.A)).Outcome == DnsOutcome.Answer;
                    }
            }
        }

        private bool InAny(IReadOnlyList<IPAddress> addresses, SpfMechanism m)
        {
            var prefix = _v6 ? m.Cidr6 : m.Cidr4;
            return addresses.Any(a => a.AddressFamily == client.AddressFamily && SpfRecord.Network(a, prefix).Contains(client));
        }

        /// <summary>
        /// §5.5: the client's PTR names (the first 10) whose own addresses include the client. A DNS
        /// error on the way drops the name (or all of them), it does not end the check.
        /// </summary>
        private async ValueTask<List<string>> ValidatedNamesAsync()
        {
            if (_validatedNames is not null)
                return _validatedNames;
            var names = new List<string>();
            var ptr = await TryQueryAsync(ReverseName(), DnsRecordType.Reverse);
            foreach (var name in ptr?.Names.Take(MaxNamesPerTerm) ?? [])
            {
                if ((await TryQueryAsync(name, AddressType))?.Addresses.Any(a => a.Equals(client)) == true)
                    names.Add(name);
            }
            return _validatedNames = names;
        }

        /// <summary>§7.2's p: a validated name, the current domain or one below it preferred; "unknown" when none.</summary>
        private async ValueTask<string> ValidatedNameAsync(string domain)
        {
            var names = await ValidatedNamesAsync();
            return names.FirstOrDefault(n => n == domain) ?? names.FirstOrDefault(n => n.EndsWith("." + domain, StringComparison.Ordinal)) ??
                names.FirstOrDefault() ?? "unknown";
        }

        /// <summary>§6.2: the exp= domain's single TXT record, expanded; any problem means no explanation.</summary>
        public async ValueTask<string?> ExplanationAsync(string spec, string domain)
        {
            try
            {
                var target = await DomainAsync(spec, domain);
                if (!Valid(target))
                    return null;
                var answer = await owner.AskAsync(target, DnsRecordType.Txt, ct);
                if (answer.Texts.Count != 1 || !answer.Texts[0].All(c => c is >= ' ' and <= '~'))
                    return null;
                SpfMacro.Validate(answer.Texts[0], inExplanation: true, "exp=");
                var text = await SpfMacro.ExpandAsync(answer.Texts[0], Values(domain), inExplanation: true, () => ValidatedNameAsync(domain));
                return ClientText.Printable(text, 300);
            }
            catch (Exception e) when (e is SpfPermErrorException or SpfTempErrorException)
            {
                return null;
            }
        }

        /// <summary>A domain-spec expanded (§7.3): no trailing dot, and over 253 characters cut label by label from the left.</summary>
        private async ValueTask<string> DomainAsync(string spec, string domain)
        {
            var name = (await SpfMacro.ExpandAsync(spec, Values(domain), inExplanation: false, () => ValidatedNameAsync(domain))).TrimEnd('.').ToLowerInvariant();
            while (name.Length > 253 && name.IndexOf('.', StringComparison.Ordinal) is var dot and >= 0)
                name = name[(dot + 1)..];
            return name;
        }

        private SpfMacroValues Values(string domain) => new(sender, domain, MacroIp(), client.ToString(), _v6, helo, owner.Receiver,
            owner._time.GetUtcNow().ToUnixTimeSeconds());

        /// <summary>§7.3's i: dotted IPv4, or IPv6 as dot-separated nibbles.</summary>
        private string MacroIp()
        {
            if (!_v6)
                return client.ToString();
            var reversed = DnsblChecker.ReversedName(client).Split('.');
            Array.Reverse(reversed);
            return string.Join('.', reversed);
        }

        private string ReverseName() => DnsblChecker.ReversedName(client) + (_v6 ? ".ip6.arpa" : ".in-addr.arpa");

        /// <summary>§4.6.4: the lookup limit, counted before each term that asks DNS.</summary>
        private void CountLookup()
        {
            if (++_lookups > owner.Options.MaxLookups)
                throw new SpfPermErrorException($"more than {owner.Options.MaxLookups} DNS lookups");
        }

        /// <summary>A query whose error ends the check with temperror and whose void answer counts (§4.6.4); a name that cannot be asked is empty.</summary>
        private async ValueTask<DnsAnswer> QueryAsync(string name, DnsRecordType type, bool countVoid = true)
        {
            if (!Valid(name))
                return DnsAnswer.NxDomain;
            var answer = await owner.AskAsync(name, type, ct);
            if (answer.Outcome == DnsOutcome.Error)
                throw new SpfTempErrorException($"DNS error for {name}: {answer.Error}");
            if (answer.IsVoid && countVoid && ++_voids > owner.Options.MaxVoidLookups)
                throw new SpfPermErrorException($"more than {owner.Options.MaxVoidLookups} void lookups");
            return answer;
        }

        /// <summary>For ptr (§5.5): errors drop the name instead of ending the check; void answers still count.</summary>
        private async ValueTask<DnsAnswer?> TryQueryAsync(string name, DnsRecordType type)
        {
            try
            {
                return await QueryAsync(name, type);
            }
            catch (SpfTempErrorException)
            {
                return null;
            }
        }

        private static bool Valid(string name) => name.Length is > 0 and <= 253 && name.Split('.').All(l => l.Length is > 0 and <= 63);
    }

    private ValueTask<DnsAnswer> AskAsync(string name, DnsRecordType type, CancellationToken ct) => dns.QueryAsync(name, type, ct);
}
