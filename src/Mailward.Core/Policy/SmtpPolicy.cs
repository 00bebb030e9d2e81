// Decisions at the door, one per stage (Postfix's restriction stages: connect, HELO, MAIL, RCPT,
// end of DATA): may this sender send, may this recipient be accepted. Recipients of hosted domains must lead somewhere (RecipientResolver); any other
// domain is relaying, allowed only for authenticated sessions or clients a relay rule allows.
// Address tricks cannot relay: a hosted domain's address is only ever delivered locally, and
// everything else needs the relay right. A roaming grant (POP-before-SMTP) is not a relay right of
// the address: it names the users a session may act as, and a deny rule beats it. What delivery would
// refuse for sure (a bounce-mail mailbox, one over quota) is refused here, before the 250, so no
// bounce goes to a forged sender.
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.MailStore;
using Mailward.Core.Routing;

namespace Mailward.Core.Policy;

public sealed record ClientInfo(IPAddress Address, string? AuthenticatedUser = null)
{
    /// <summary>The session's findings (DNS lists, SPF), which the checks read and fill; null outside a session.</summary>
    public DoorFindings? Findings { get; init; }
}

public enum RecipientVerdict
{
    AcceptLocal,
    AcceptRelay,
    UnknownUser,
    RelayDenied,
    MailboxDisabled,
    MailboxFull,
    ClientListed,

    /// <summary>Refused for now, whoever the recipient is: the client is over a rate or greylisted (450).</summary>
    Deferred,
}

/// <param name="Address">The recipient as it is kept: canonical for a hosted address, as written otherwise.</param>
/// <param name="Outcome">The stage's answer: accept, or the refusal with its reply.</param>
public sealed record RecipientDecision(RecipientVerdict Verdict, string Address, PolicyDecision Outcome = default);

/// <summary>
/// The door policy, one method per SMTP stage (Postfix's smtpd restriction stages), each answering
/// accept, reject(reply), temp-fail(reply) or tarpit(delay) (PolicyDecision).
/// </summary>
public interface ISmtpPolicy
{
    /// <summary>A client connected, before the greeting (RFC 5321 §3.1: a refusal is a 554 greeting).</summary>
    ValueTask<PolicyDecision> ConnectAsync(ClientInfo client, CancellationToken ct = default);

    /// <summary>HELO or EHLO with its (printable) name.</summary>
    ValueTask<PolicyDecision> HeloAsync(ClientInfo client, string helo, CancellationToken ct = default);

    /// <summary>
    /// MAIL: room for <paramref name="declaredSize"/> bytes (Queue:MinFreeBytes), and the sender
    /// (badmailfrom). <paramref name="mailbox"/> is the unquoted local part @ domain ("" for the null
    /// sender); <paramref name="address"/> the sender as written, for the reply.
    /// </summary>
    ValueTask<PolicyDecision> MailAsync(ClientInfo client, string mailbox, string address, long declaredSize, CancellationToken ct = default);

    /// <summary>
    /// The users who logged in over POP3/IMAP from this client within Relay:RoamingMinutes and may
    /// still send (no no-smtp, bounce-mail or no-relay flag), unless a deny rule covers the client.
    /// </summary>
    ValueTask<IReadOnlyList<UserRecord>> RoamingUsersAsync(ClientInfo client, CancellationToken ct = default);

    /// <summary>RCPT: is the recipient hosted and does it lead somewhere, or may the client relay to it.</summary>
    /// <param name="address">The recipient as written, for the reply.</param>
    /// <param name="size">The message size when known (MAIL's SIZE, or after DATA); 0 when not.</param>
    ValueTask<RecipientDecision> RcptAsync(ClientInfo client, string localPart, string domain, bool domainIsLiteral, string address, long size = 0,
        CancellationToken ct = default);

    /// <summary>The end of DATA, before the commit: refused when every recipient is hosted and over quota for <paramref name="size"/> bytes.</summary>
    ValueTask<PolicyDecision> EndOfDataAsync(ClientInfo client, IReadOnlyList<string> recipients, IReadOnlySet<string> hosted, long size, CancellationToken ct = default);

    /// <summary>False while the queue's or the mail store's file system is short of space for <paramref name="size"/> bytes (Queue:MinFreeBytes).</summary>
    bool HasStorageFor(long size);
}

public sealed class SmtpPolicy : ISmtpPolicy
{
    private static readonly TimeSpan RelayRulesRefresh = TimeSpan.FromSeconds(5);

    private readonly IAccountStore _store;
    private readonly RecipientResolver _resolver;
    private readonly IAccountDirectory _directory;
    private readonly HashSet<string> _badAddresses = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _badDomains = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<string> _badDomainSuffixes = [];
    private readonly TimeProvider _time;
    private (IPNetwork Network, RelayAction Action)[] _rules = [];
    private long _rulesLoaded = long.MinValue;

    private readonly RoamingRelay? _roaming;
    private readonly MailStoreLayout? _layout;
    private readonly FreeSpaceGuard? _storage;

    /// <param name="store">The relay rules.</param>
    /// <param name="resolver">Recipients; its directory answers every lookup.</param>
    /// <param name="layout">The mail store, for quotas at RCPT; null: quotas are left to delivery.</param>
    /// <param name="storage">The free-space guard; null: space is not checked.</param>
    public SmtpPolicy(IAccountStore store, RecipientResolver resolver, string badMailFrom = "", TimeProvider? time = null, RoamingRelay? roaming = null,
        MailStoreLayout? layout = null, FreeSpaceGuard? storage = null)
    {
        _store = store;
        _layout = layout;
        _storage = storage;
        _roaming = roaming;
        _resolver = resolver;
        _directory = resolver.Directory;
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

    public ValueTask<PolicyDecision> ConnectAsync(ClientInfo client, CancellationToken ct = default) => ValueTask.FromResult(PolicyDecision.Accept);

    public ValueTask<PolicyDecision> HeloAsync(ClientInfo client, string helo, CancellationToken ct = default) => ValueTask.FromResult(PolicyDecision.Accept);

    public ValueTask<PolicyDecision> MailAsync(ClientInfo client, string mailbox, string address, long declaredSize, CancellationToken ct = default) =>
        ValueTask.FromResult(
            !HasStorageFor(declaredSize) ? PolicyDecision.TempFail(PolicyReplies.InsufficientStorage, "insufficient storage")
            : !SenderAllowed(client, mailbox) ? PolicyDecision.Reject(PolicyReplies.SenderRejected(address), "badmailfrom")
            : PolicyDecision.Accept);

    /// <summary>False when the sender is refused (badmailfrom); <paramref name="sender"/> is the unquoted local part @ domain.</summary>
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

    public async ValueTask<IReadOnlyList<UserRecord>> RoamingUsersAsync(ClientInfo client, CancellationToken ct = default)
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
            var user = at > 0 ? await _directory.FindUserAsync(grant.Login[..at], grant.Login[(at + 1)..], ct) : null;
            if (user is not null && user.Id == grant.UserId && (user.Flags & (UserFlags.NoSmtp | UserFlags.BounceMail | UserFlags.NoRelay)) == 0)
                users.Add(user);
        }
        return users;
    }

    public bool HasStorageFor(long size) => _storage?.HasRoomFor(size) ?? true;

    public async ValueTask<RecipientDecision> RcptAsync(ClientInfo client, string localPart, string domain, bool domainIsLiteral, string address, long size = 0,
        CancellationToken ct = default)
    {
        RecipientDecision d;
        try
        {
            d = await CheckRecipientAsync(client, localPart, domain, domainIsLiteral, size, ct);
        }
        catch (AccountStoreUnavailableException)
        {
            // Not known now is not unknown: never a 5xx for an address the store could not be asked about.
            return new RecipientDecision(RecipientVerdict.Deferred, $"{localPart}@{domain}",
                PolicyDecision.TempFail(PolicyReplies.StoreUnavailable(address), "account store unavailable"));
        }
        return d with
        {
            Outcome = d.Verdict switch
            {
                RecipientVerdict.UnknownUser => PolicyDecision.Reject(PolicyReplies.UserUnknown(address), "user unknown"),
                RecipientVerdict.MailboxDisabled => PolicyDecision.Reject(PolicyReplies.MailboxDisabled(address), "mailbox refuses mail"),
                RecipientVerdict.MailboxFull => PolicyDecision.Reject(PolicyReplies.MailboxFull(address), "over quota"),
                RecipientVerdict.RelayDenied => PolicyDecision.Reject(PolicyReplies.RelayDenied(address), "relay denied"),
                _ => PolicyDecision.Accept,
            },
        };
    }

    public async ValueTask<PolicyDecision> EndOfDataAsync(ClientInfo client, IReadOnlyList<string> recipients, IReadOnlySet<string> hosted, long size,
        CancellationToken ct = default)
    {
        // One reply answers DATA for all recipients, so only when every one is hosted and full.
        foreach (var r in recipients)
        {
            if (!hosted.Contains(r))
                return PolicyDecision.Accept;
            var at = r.LastIndexOf('@');
            try
            {
                if ((await CheckRecipientAsync(client, r[..at], r[(at + 1)..], domainIsLiteral: false, size, ct)).Verdict != RecipientVerdict.MailboxFull)
                    return PolicyDecision.Accept;
            }
            catch (AccountStoreUnavailableException)
            {
                return PolicyDecision.Accept; // RCPT found room; delivery checks again and defers while the store is away
            }
        }
        return PolicyDecision.Reject(PolicyReplies.MailboxFullAtData, "over quota");
    }

    private async ValueTask<RecipientDecision> CheckRecipientAsync(ClientInfo client, string localPart, string domain, bool domainIsLiteral, long size,
        CancellationToken ct)
    {
        if (!domainIsLiteral)
        {
            var resolution = await _resolver.ResolveAsync(localPart, domain, ct);
            if (resolution.Kind != ResolutionKind.NotHosted)
            {
                // Hosted: delivered here or nowhere; a hosted address is never relayed (no % or ! routing).
                var canonical = $"{localPart.ToLowerInvariant()}@{resolution.Domain!.Name}";
                if (!resolution.Accepts)
                    return new RecipientDecision(RecipientVerdict.UnknownUser, canonical);
                if (await MailboxOwnerAsync(resolution, ct) is not { } owner)
                    return new RecipientDecision(RecipientVerdict.AcceptLocal, canonical);
                if (owner.Flags.HasFlag(UserFlags.BounceMail))
                    return new RecipientDecision(RecipientVerdict.MailboxDisabled, canonical);
                return new RecipientDecision(Full(owner, size) ? RecipientVerdict.MailboxFull : RecipientVerdict.AcceptLocal, canonical);
            }
        }
        var address = $"{localPart}@{domain}";
        return new RecipientDecision(MayRelay(client) ? RecipientVerdict.AcceptRelay : RecipientVerdict.RelayDenied, address);
    }

    /// <summary>The user whose own Maildir the address reaches, as LocalDelivery resolves it; null for alias lines.</summary>
    private async ValueTask<UserRecord?> MailboxOwnerAsync(Resolution r, CancellationToken ct) => r.Kind switch
    {
        ResolutionKind.User or ResolutionKind.Extension when await _directory.FindAliasAsync(r.Local!, r.Domain!.Name, ct) is null =>
            await _directory.FindUserAsync(r.Local!, r.Domain!.Name, ct),
        ResolutionKind.CatchAll when r.Domain!.CatchAll is { Kind: CatchAllKind.Mailbox, Target: { } target } => await _directory.FindUserAsync(target, r.Domain.Name, ct),
        _ => null,
    };

    /// <summary>
    /// The user's Maildir++ quota (the domain's is left to delivery): with a known size, would the
    /// message exceed it (small notices always pass); without one, is the mailbox already full.
    /// </summary>
    private bool Full(UserRecord user, long size)
    {
        if (_layout is null || user.Quota.IsUnlimited)
            return false;
        var usage = MaildirQuota.Usage(MailStoreLayout.MaildirOf(_layout.Resolve(user.Directory)), user.Quota);
        if (size > 0)
            return MaildirQuota.WouldExceed(user.Quota, usage, size);
        return MaildirQuota.IsFull(user.Quota, usage);
    }

    /// <summary>
    /// Authenticated (by AUTH, or a roaming user the session acts as), or allowed by the most
    /// specific relay rule that contains the client.
    /// </summary>
    /// <exception cref="AccountStoreUnavailableException">The store is away and the relay rules were never read.</exception>
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

    /// <summary>The relay rules, read again every few seconds.</summary>
    /// <exception cref="AccountStoreUnavailableException">The store is away and the rules were never read.</exception>
    private (IPNetwork, RelayAction)[] Rules()
    {
        var now = _time.GetTimestamp();
        var loaded = Volatile.Read(ref _rulesLoaded);
        if (loaded != long.MinValue && _time.GetElapsedTime(loaded, now) < RelayRulesRefresh)
            return _rules;
        try
        {
            _rules = _store.ListRelayRules()
                .Select(r => (IPNetwork.TryParse(r.Network, out var n) ? n : default, r.Action))
                .Where(r => r.Item1.BaseAddress is not null)
                .ToArray();
        }
        catch (AccountStoreUnavailableException) when (loaded != long.MinValue)
        {
            // While the store is away nobody can change the rules: the ones read last stay true
            // (docs/multi-node.md), and the store is asked again one refresh later, not per client.
        }
        Volatile.Write(ref _rulesLoaded, now);
        return _rules;
    }

    /// <summary>The domain of a hosted recipient in canonical form, for logging; null when not hosted.</summary>
    public async ValueTask<string?> HostedDomainAsync(string domain, CancellationToken ct = default) =>
        DomainName.TryNormalize(domain, out var d, out _) ? (await _directory.FindDomainAsync(d, ct))?.Name : null;
}
