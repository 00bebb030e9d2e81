// Decisions at the door (Postfix's restriction stages): may this sender send, may this recipient
// be accepted. Recipients of hosted domains must lead somewhere (RecipientResolver); any other
// domain is relaying, allowed only for authenticated sessions or clients a relay rule allows.
// Address tricks cannot relay: a hosted domain's address is only ever delivered locally, and
// everything else needs the relay right.
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
    /// <summary>False when the sender is refused (badmailfrom).</summary>
    bool SenderAllowed(ClientInfo client, string sender);

    RecipientDecision CheckRecipient(ClientInfo client, string localPart, string domain, bool domainIsLiteral);

    /// <summary>False while the queue's or the mail store's file system is short of space for <paramref name="size"/> bytes (Queue:MinFreeBytes).</summary>
    bool HasStorageFor(long size);
}

public sealed class SmtpPolicy : ISmtpPolicy
{
    private static readonly TimeSpan RelayRulesRefresh = TimeSpan.FromSeconds(5);

    private readonly IAccountStore _store;
    private readonly RecipientResolver _resolver;
    private readonly HashSet<string> _badAddresses = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _badDomains = new(StringComparer.OrdinalIgnoreCase);
    private readonly TimeProvider _time;
    private (IPNetwork Network, RelayAction Action)[] _rules = [];
    private long _rulesLoaded = long.MinValue;

    private readonly RoamingRelay? _roaming;
    private readonly FreeSpaceGuard? _storage;

    /// <param name="storage">The free-space guard; null: space is not checked.</param>
    public SmtpPolicy(IAccountStore store, RecipientResolver resolver, string badMailFrom = "", TimeProvider? time = null, RoamingRelay? roaming = null,
        FreeSpaceGuard? storage = null)
    {
        _store = store;
        _storage = storage;
        _roaming = roaming;
        _resolver = resolver;
        _time = time ?? TimeProvider.System;
        foreach (var entry in badMailFrom.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (entry.StartsWith('@'))
                _badDomains.Add(entry[1..]);
            else
                _badAddresses.Add(entry);
        }
    }

    public bool SenderAllowed(ClientInfo client, string sender)
    {
        if (sender.Length == 0)
            return true; // the null sender is always accepted (RFC 5321 §4.5.5)
        var at = sender.LastIndexOf('@');
        return !_badAddresses.Contains(sender) && !(at >= 0 && _badDomains.Contains(sender[(at + 1)..]));
    }

    public bool HasStorageFor(long size) => _storage?.HasRoomFor(size) ?? true;

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

    /// <summary>Authenticated, allowed by the most specific relay rule that contains the client, or a roaming address.</summary>
    public bool MayRelay(ClientInfo client)
    {
        if (client.AuthenticatedUser is not null)
            return true;
        var ip = client.Address.IsIPv4MappedToIPv6 ? client.Address.MapToIPv4() : client.Address;
        var best = -1;
        var allowed = false;
        foreach (var (network, action) in Rules())
        {
            if (network.PrefixLength > best && network.Contains(ip))
            {
                best = network.PrefixLength;
                allowed = action == RelayAction.Allow;
            }
        }
        return allowed || _roaming?.MayRelay(ip) == true;
    }

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
