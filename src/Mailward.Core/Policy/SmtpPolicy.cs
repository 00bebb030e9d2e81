// Decisions at the door (Postfix's restriction stages): may this sender send, may this recipient
// be accepted. Recipients of hosted domains must lead somewhere (RecipientResolver); any other
// domain is relaying, allowed only for authenticated sessions or clients a relay rule allows.
// Address tricks cannot relay: a hosted domain's address is only ever delivered locally, and
// everything else needs the relay right. A roaming grant (POP-before-SMTP) is not a relay right of
// the address: it names the users a session may act as, and a deny rule beats it.
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Routing;

namespace Mailward.Core.Policy;

public sealed record ClientInfo(IPAddress Address, string? AuthenticatedUser = null);

public enum RecipientVerdict
{
    AcceptLocal,
    AcceptRelay,
    UnknownUser,
    RelayDenied,
}

public sealed record RecipientDecision(RecipientVerdict Verdict, string Address);

public interface ISmtpPolicy
{
    /// <summary>False when the sender is refused (badmailfrom); <paramref name="sender"/> is the unquoted local part @ domain.</summary>
    bool SenderAllowed(ClientInfo client, string sender);

    /// <summary>
    /// The users who logged in over POP3/IMAP from this client within Relay:RoamingMinutes and may
    /// still send (no no-smtp, bounce-mail or no-relay flag), unless a deny rule covers the client.
    /// </summary>
    IReadOnlyList<UserRecord> RoamingUsers(ClientInfo client);

    RecipientDecision CheckRecipient(ClientInfo client, string localPart, string domain, bool domainIsLiteral);
}

public sealed class SmtpPolicy : ISmtpPolicy
{
    private static readonly TimeSpan RelayRulesRefresh = TimeSpan.FromSeconds(5);

    private readonly IAccountStore _store;
    private readonly RecipientResolver _resolver;
    private readonly HashSet<string> _badAddresses = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _badDomains = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _badDomainSuffixes = [];
    private readonly TimeProvider _time;
    private (IPNetwork Network, RelayAction Action)[] _rules = [];
    private long _rulesLoaded = long.MinValue;

    private readonly RoamingRelay? _roaming;

    public SmtpPolicy(IAccountStore store, RecipientResolver resolver, string badMailFrom = "", TimeProvider? time = null, RoamingRelay? roaming = null)
    {
        _store = store;
        _roaming = roaming;
        _resolver = resolver;
        _time = time ?? TimeProvider.System;
        foreach (var entry in badMailFrom.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (entry.StartsWith("@.", StringComparison.Ordinal))
                _badDomainSuffixes.Add(entry[1..].ToLowerInvariant()); // "@.evil.test": every subdomain of evil.test
            else if (entry.StartsWith('@'))
                _badDomains.Add(entry[1..]);
            else
                _badAddresses.Add(entry);
        }
    }

    public bool SenderAllowed(ClientInfo client, string sender)
    {
        if (sender.Length == 0)
            return true; // the null sender is always accepted (RFC 5321 §4.5.5)
        // Compared as the mailbox it names: unquoted by the caller, case-insensitive, no trailing dot.
        var at = sender.LastIndexOf('@');
        var domain = at < 0 ? "" : sender[(at + 1)..].TrimEnd('.').ToLowerInvariant();
        if (at >= 0)
            sender = sender[..(at + 1)] + domain;
        return !_badAddresses.Contains(sender) && !(at >= 0 && (_badDomains.Contains(domain) ||
            _badDomainSuffixes.Exists(suffix => domain.EndsWith(suffix, StringComparison.Ordinal))));
    }

    public IReadOnlyList<UserRecord> RoamingUsers(ClientInfo client)
    {
        if (_roaming is not { Enabled: true })
            return [];
        var ip = Plain(client.Address);
        if (MostSpecificRule(ip) == RelayAction.Deny)
            return []; // the admin's deny rule wins over a user's login
        var users = new List<UserRecord>();
        foreach (var grant in _roaming.GrantsFor(ip))
        {
            var at = grant.Login.LastIndexOf('@');
            var user = at > 0 ? _store.FindUser(grant.Login[..at], grant.Login[(at + 1)..]) : null;
            if (user is not null && user.Id == grant.UserId && (user.Flags & (UserFlags.NoSmtp | UserFlags.BounceMail | UserFlags.NoRelay)) == 0)
                users.Add(user);
        }
        return users;
    }

    public RecipientDecision CheckRecipient(ClientInfo client, string localPart, string domain, bool domainIsLiteral)
    {
        if (!domainIsLiteral)
        {
            var resolution = _resolver.Resolve(localPart, domain);
            if (resolution.Kind != ResolutionKind.NotHosted)
            {
                // Hosted: delivered here or nowhere; a hosted address is never relayed (no % or ! routing).
                var canonical = $"{localPart.ToLowerInvariant()}@{resolution.Domain!.Name}";
                return new RecipientDecision(resolution.Accepts ? RecipientVerdict.AcceptLocal : RecipientVerdict.UnknownUser, canonical);
            }
        }
        var address = $"{localPart}@{domain}";
        return new RecipientDecision(MayRelay(client) ? RecipientVerdict.AcceptRelay : RecipientVerdict.RelayDenied, address);
    }

    /// <summary>
    /// Authenticated (by AUTH, or a roaming user the session acts as), or allowed by the most
    /// specific relay rule that contains the client.
    /// </summary>
    public bool MayRelay(ClientInfo client) =>
        client.AuthenticatedUser is not null || MostSpecificRule(Plain(client.Address)) == RelayAction.Allow;

    private RelayAction? MostSpecificRule(IPAddress ip)
    {
        var best = -1;
        RelayAction? action = null;
        foreach (var (network, a) in Rules())
        {
            if (network.PrefixLength > best && network.Contains(ip))
            {
                best = network.PrefixLength;
                action = a;
            }
        }
        return action;
    }

    private static IPAddress Plain(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    private (IPNetwork, RelayAction)[] Rules()
    {
        var now = _time.GetTimestamp();
        if (_time.GetElapsedTime(Volatile.Read(ref _rulesLoaded), now) < RelayRulesRefresh && _rulesLoaded != long.MinValue)
            return _rules;
        _rules = _store.ListRelayRules()
            .Select(r => (IPNetwork.TryParse(r.Network, out var n) ? n : default, r.Action))
            .Where(r => r.Item1.BaseAddress is not null)
            .ToArray();
        Volatile.Write(ref _rulesLoaded, now);
        return _rules;
    }

    /// <summary>The domain of a hosted recipient in canonical form, for logging; null when not hosted.</summary>
    public string? HostedDomain(string domain) =>
        DomainName.TryNormalize(domain, out var d, out _) ? _store.FindDomain(d)?.Name : null;
}
