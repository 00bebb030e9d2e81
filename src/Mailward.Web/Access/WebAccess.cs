// Who reaches which page and API endpoint: one rule table, keyed by method and route, that every
// endpoint is registered through (an endpoint without a row cannot be mapped). The table decides
// by role alone; which domains and users an admin may touch is AccountAdmin's AdminAuthorizer,
// asked by every operation the endpoint calls. docs/web-admin.md shows both as one table.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Sessions;

namespace Mailward.Web.Access;

public enum WebRole
{
    Anonymous,
    /// <summary>An account acting on itself.</summary>
    User,
    /// <summary>A domain's postmaster, or an account with the domain-admin flag: its own domain.</summary>
    DomainAdmin,
    /// <summary>An account with the system-admin flag: every domain.</summary>
    SystemAdmin,
    /// <summary>An API key: the API's admin endpoints, within its scope (AdminAuthorizer); no own account.</summary>
    ApiKey,
}

/// <summary>What a request needs before its handler runs.</summary>
public enum Need
{
    Anyone,
    /// <summary>Any logged-in account.</summary>
    SignedIn,
    /// <summary>A logged-in account without the no-webmail flag (the user pages).</summary>
    SelfService,
    /// <summary>A domain admin or a system admin (which domains: AdminAuthorizer).</summary>
    Admin,
    SystemAdmin,
    /// <summary>A monitoring client: an address in Metrics:AllowFrom, or the Metrics:BearerToken (no session involved).</summary>
    Scraper,
    /// <summary>
    /// Anyone holding the link's token, which the handler checks (a list's one-click unsubscribe):
    /// no session is looked at and no anti-forgery token asked, since a mail client POSTs it without
    /// either (RFC 8058 §3.2); a cookie a browser sends along changes nothing.
    /// </summary>
    Token,
}

/// <summary>
/// Who a request comes from: a logged-in account (a session, its record read afresh from the store
/// for each request) or an API key (Authorization: Bearer, /api/ only; no session, no account).
/// </summary>
public sealed class WebUser
{
    private readonly WebSession? _session;
    private readonly UserRecord? _record;

    public WebUser(WebSession session, UserRecord record, Actor actor)
    {
        _session = session;
        _record = record;
        Actor = actor;
    }

    private WebUser(Actor key) => Actor = key;

    public static WebUser ForApiKey(Actor key) => key.Kind == ActorKind.ApiKey ? new(key) : throw new ArgumentException("not a key", nameof(key));

    public Actor Actor { get; }

    public bool IsApiKey => _record is null;

    /// <summary>The session of a logged-in account (WebAccess keeps keys from every handler that asks).</summary>
    public WebSession Session => _session ?? throw new InvalidOperationException($"{Actor} has no session");

    public UserRecord Record => _record ?? throw new InvalidOperationException($"{Actor} is no account");

    /// <summary>The account's address, or the key's name.</summary>
    public string Address => _record?.Address ?? Actor.Name;

    public WebRole Role => Actor.Kind switch
    {
        ActorKind.SystemAdmin => WebRole.SystemAdmin,
        ActorKind.DomainAdmin => WebRole.DomainAdmin,
        ActorKind.ApiKey => WebRole.ApiKey,
        _ => WebRole.User,
    };

    /// <summary>The same account as a user about itself: the self-service rules (no-password-change) apply to admins too.</summary>
    public Actor Self => Actor.User(Record.Address) with { Origin = Actor.Origin };
}

public enum AccessDecision
{
    Allowed,
    /// <summary>Not logged in: the login page (pages) or 401 (API).</summary>
    SignIn,
    Forbidden,
}

public static class WebAccess
{
    public sealed record Rule(string Method, string Route, Need Need, string What);

    public static readonly IReadOnlyList<Rule> Table =
    [
        new("GET", "/", Need.Anyone, "home: the login page, or the role's first page"),
        new("GET", "/login", Need.Anyone, "the login form"),
        new("POST", "/login", Need.Anyone, "log in (LoginService, service web)"),
        new("POST", "/login/totp", Need.Anyone, "the second step of a login: the TOTP code (accounts with a second factor)"),
        new("POST", "/logout", Need.SignedIn, "log out"),
        new("GET", "/assets/{name}", Need.Anyone, "the embedded style sheet"),
        new("GET", "/mail/config-v1.1.xml", Need.Anyone, "Thunderbird's autoconfig for a hosted domain (?emailaddress=)"),
        new("GET", "/.well-known/autoconfig/mail/config-v1.1.xml", Need.Anyone, "Thunderbird's autoconfig, the well-known path"),
        new("POST", "/autodiscover/autodiscover.xml", Need.Anyone, "Outlook's Autodiscover (POX) for a hosted domain's address"),
        new("GET", "/account/mobileconfig", Need.SelfService, "an Apple configuration profile for the own account"),
        new("GET", "/domains", Need.Admin, "the domains the account administers (search, pages)"),
        new("POST", "/domains", Need.SystemAdmin, "add a domain and its postmaster"),
        new("GET", "/domains/{domain}", Need.Admin, "a domain: counts, limits, users (search, pages)"),
        new("POST", "/domains/{domain}/users", Need.Admin, "add a user"),
        new("POST", "/domains/{domain}/users/{local}/delete", Need.Admin, "delete a user and its mail"),
        new("POST", "/domains/{domain}/users/{local}/quota", Need.Admin, "set a user's quota (within the domain's quota)"),
        new("GET", "/domains/{domain}/users/{local}", Need.Admin, "a user: facts, last login, password, quota, flags, forward, vacation"),
        new("POST", "/domains/{domain}/users/{local}/password", Need.Admin, "set a user's password (empty: a random one, shown once)"),
        new("POST", "/domains/{domain}/users/{local}/flags", Need.Admin, "set a user's flags (system-admin, no-limits, expert: the system's only)"),
        new("POST", "/domains/{domain}/users/{local}/forward", Need.Admin, "set a user's forward: addresses only, keep a copy (not postmaster@ or abuse@)"),
        new("POST", "/domains/{domain}/users/{local}/vacation", Need.Admin, "set a user's vacation message: text, subject, days, interval"),
        new("POST", "/domains/{domain}/users/{local}/vacation/delete", Need.Admin, "turn a user's vacation message off"),
        new("GET", "/domains/{domain}/aliases", Need.Admin, "a domain's aliases and forwards (search, pages)"),
        new("POST", "/domains/{domain}/aliases", Need.Admin, "add an alias or forward line (addresses only)"),
        new("POST", "/domains/{domain}/aliases/{local}/delete", Need.Admin, "remove an alias and its lines"),
        new("GET", "/domains/{domain}/lists", Need.Admin, "a domain's mailing lists and the form that makes one"),
        new("POST", "/domains/{domain}/lists", Need.Admin, "make a mailing list (within the domain's max-lists)"),
        new("GET", "/domains/{domain}/lists/{list}", Need.Admin, "a mailing list's settings form"),
        new("POST", "/domains/{domain}/lists/{list}", Need.Admin, "save a mailing list's settings"),
        new("POST", "/domains/{domain}/lists/{list}/delete", Need.Admin, "remove a mailing list with its members and archive"),
        new("GET", "/domains/{domain}/lists/{list}/{set}", Need.Admin, "a list's subscribers, moderators, allow, deny or digest set (search, pages)"),
        new("POST", "/domains/{domain}/lists/{list}/{set}", Need.Admin, "add addresses to a list's set at once"),
        new("POST", "/domains/{domain}/lists/{list}/{set}/delete", Need.Admin, "remove an address from a list's set"),
        new("GET", "/domains/{domain}/settings", Need.Admin, "a domain's catch-all, alias domains, limits (read-only to its admins) and usage"),
        new("POST", "/domains/{domain}/catchall", Need.Admin, "set the catch-all: bounce, delete, a user, or a forward address"),
        new("POST", "/domains/{domain}/limits", Need.SystemAdmin, "set a domain's limits (the system's only)"),
        new("POST", "/domains/{domain}/aliasdomains", Need.SystemAdmin, "add an alias domain (claiming a name is the system's)"),
        new("POST", "/domains/{domain}/aliasdomains/{alias}/delete", Need.Admin, "remove one of the domain's alias domains"),
        new("GET", "/account/forward", Need.SelfService, "the own forward: addresses and keep a copy"),
        new("POST", "/account/forward", Need.SelfService, "set the own forward (addresses only)"),
        new("GET", "/relay", Need.SystemAdmin, "relay rules and IP maps"),
        new("POST", "/relay", Need.SystemAdmin, "add or change a relay rule"),
        new("POST", "/relay/delete", Need.SystemAdmin, "remove a relay rule"),
        new("POST", "/ipmaps", Need.SystemAdmin, "map a server address to a domain"),
        new("POST", "/ipmaps/delete", Need.SystemAdmin, "remove an IP map"),
        new("GET", "/keys", Need.SystemAdmin, "the API keys: name, scope, read-only, expiry (never a secret)"),
        new("POST", "/keys", Need.SystemAdmin, "make an API key (its token shown on this answer only)"),
        new("POST", "/keys/{name}/revoke", Need.SystemAdmin, "revoke an API key"),
        new("GET", "/queue", Need.SystemAdmin, "the queue (search, pages)"),
        new("POST", "/queue/flush", Need.SystemAdmin, "retry every deferred message now"),
        new("POST", "/queue/{id}/delete", Need.SystemAdmin, "delete a queued message (no bounce)"),
        new("GET", "/audit", Need.Admin, "the audit log: every row (system), the own domains' rows (domain admin); ?domain=, ?after="),
        new("GET", "/account", Need.SelfService, "the account's own page"),
        new("POST", "/account/password", Need.SelfService, "change the own password (old one checked; not with no-password-change)"),
        new("GET", "/account/vacation", Need.SelfService, "the own vacation message (autoresponder)"),
        new("POST", "/account/vacation", Need.SelfService, "set the own vacation message: text, subject, days"),
        new("POST", "/account/vacation/delete", Need.SelfService, "turn the own vacation message off"),
        new("POST", "/account/totp", Need.SelfService, "begin (or restart) enrolling a TOTP second factor: the secret shown once"),
        new("POST", "/account/totp/confirm", Need.SelfService, "turn the enrolled second factor on with a code from it"),
        new("POST", "/account/totp/delete", Need.SelfService, "turn the own second factor off (a current code needed)"),
        new("GET", "/api/v1/openapi.json", Need.Anyone, "this API's OpenAPI 3.1 document: every endpoint, its body, answer and who may call it"),
        new("GET", "/api/v1/me", Need.SignedIn, "who is logged in, its role and the session's anti-forgery token"),
        new("PUT", "/api/v1/me/password", Need.SelfService, "change the own password"),
        new("GET", "/api/v1/domains", Need.Admin, "list domains (search, after, limit)"),
        new("POST", "/api/v1/domains", Need.SystemAdmin, "add a domain"),
        new("GET", "/api/v1/domains/{domain}", Need.Admin, "a domain's info"),
        new("GET", "/api/v1/domains/{domain}/users", Need.Admin, "list a domain's users (search, after, limit)"),
        new("POST", "/api/v1/domains/{domain}/users", Need.Admin, "add a user"),
        new("GET", "/api/v1/users/{address}", Need.SignedIn, "a user (the own account, or one of an administered domain)"),
        new("DELETE", "/api/v1/users/{address}", Need.Admin, "delete a user"),
        new("PUT", "/api/v1/users/{address}/quota", Need.Admin, "set a user's quota"),
        new("GET", "/api/v1/keys", Need.SystemAdmin, "list the API keys (no secrets)"),
        new("POST", "/api/v1/keys", Need.SystemAdmin, "make an API key (its token shown once)"),
        new("DELETE", "/api/v1/keys/{name}", Need.SystemAdmin, "revoke an API key"),
        new("GET", "/api/v1/admins", Need.SystemAdmin, "the grants of domains to accounts (address, domain; admins by flag are not grants)"),
        new("POST", "/api/v1/admins", Need.SystemAdmin, "make an account an admin of a domain (a system admin, not a key)"),
        new("DELETE", "/api/v1/admins/{address}/{domain}", Need.SystemAdmin, "take a domain from an account's administration (a system admin, not a key)"),
        new("DELETE", "/api/v1/domains/{domain}", Need.SystemAdmin, "delete a domain, its users and all their mail"),
        new("PUT", "/api/v1/domains/{domain}/catchall", Need.Admin, "set the catch-all (bounce, delete, mailbox:USER, forward:ADDRESS)"),
        new("PUT", "/api/v1/domains/{domain}/limits", Need.SystemAdmin, "set a domain's limits, whole (the system's only)"),
        new("GET", "/api/v1/domains/{domain}/usage", Need.Admin, "a domain's mail usage (a sum over its users)"),
        new("GET", "/api/v1/domains/{domain}/aliasdomains", Need.Admin, "a domain's alias domains"),
        new("POST", "/api/v1/domains/{domain}/aliasdomains", Need.SystemAdmin, "add an alias domain"),
        new("DELETE", "/api/v1/domains/{domain}/aliasdomains/{alias}", Need.Admin, "remove one of the domain's alias domains"),
        new("GET", "/api/v1/domains/{domain}/aliases", Need.Admin, "a domain's aliases and forwards (search, after, limit)"),
        new("POST", "/api/v1/domains/{domain}/aliases", Need.Admin, "add an alias or forward line (an address)"),
        new("DELETE", "/api/v1/domains/{domain}/aliases/{local}", Need.Admin, "remove an alias (?target=: one line of it)"),
        new("GET", "/api/v1/domains/{domain}/lists", Need.Admin, "a domain's mailing lists with their settings and counts"),
        new("POST", "/api/v1/domains/{domain}/lists", Need.Admin, "make a mailing list (within the domain's max-lists)"),
        new("GET", "/api/v1/domains/{domain}/lists/{list}", Need.Admin, "a mailing list's settings and counts"),
        new("PATCH", "/api/v1/domains/{domain}/lists/{list}", Need.Admin, "change a mailing list's settings (what is absent keeps its value)"),
        new("DELETE", "/api/v1/domains/{domain}/lists/{list}", Need.Admin, "remove a mailing list: its settings, members and archive"),
        new("GET", "/api/v1/domains/{domain}/lists/{list}/{set}", Need.Admin, "a list's subscribers, moderators, allow, deny or digest set (search, after, limit)"),
        new("POST", "/api/v1/domains/{domain}/lists/{list}/{set}", Need.Admin, "add addresses to a list's set at once (no confirmation)"),
        new("DELETE", "/api/v1/domains/{domain}/lists/{list}/{set}/{member}", Need.Admin, "remove an address from a list's set"),
        new("PATCH", "/api/v1/users/{address}", Need.Admin, "change a user's name, flags or quota (flags by name; system flags the system's only)"),
        new("PUT", "/api/v1/users/{address}/password", Need.Admin, "set a user's password (or a random one, answered once)"),
        new("GET", "/api/v1/users/{address}/forward", Need.SignedIn, "a user's forward (the own, or one of an administered domain)"),
        new("PUT", "/api/v1/users/{address}/forward", Need.SignedIn, "set a user's forward: addresses only, keep a copy"),
        new("GET", "/api/v1/users/{address}/usage", Need.SignedIn, "a user's mail usage against its quota"),
        new("GET", "/api/v1/users/{address}/vacation", Need.SignedIn, "a user's vacation message"),
        new("PUT", "/api/v1/users/{address}/vacation", Need.SignedIn, "set a user's vacation message"),
        new("DELETE", "/api/v1/users/{address}/vacation", Need.SignedIn, "turn a user's vacation message off"),
        new("GET", "/api/v1/relayrules", Need.SystemAdmin, "the relay rules"),
        new("POST", "/api/v1/relayrules", Need.SystemAdmin, "add or change a relay rule"),
        new("DELETE", "/api/v1/relayrules", Need.SystemAdmin, "remove a relay rule (?network=)"),
        new("GET", "/api/v1/ipmaps", Need.SystemAdmin, "the IP maps"),
        new("POST", "/api/v1/ipmaps", Need.SystemAdmin, "map a server address to a domain"),
        new("DELETE", "/api/v1/ipmaps/{address}", Need.SystemAdmin, "remove an IP map (?domain=: only that one)"),
        new("GET", "/api/v1/queue", Need.SystemAdmin, "the queue (search, after, limit)"),
        new("POST", "/api/v1/queue/flush", Need.SystemAdmin, "retry every deferred message now"),
        new("DELETE", "/api/v1/queue/{id}", Need.SystemAdmin, "delete a queued message (no bounce)"),
        new("GET", "/api/v1/audit", Need.Admin, "the audit log, newest first (domain, after, limit): the system's every row, a domain admin's or scoped key's domains' rows"),
        new("GET", "/lists/unsubscribe", Need.Token, "a mailing list's one-click unsubscribe: the confirmation page with its button (?list=&address=&token=)"),
        new("POST", "/lists/unsubscribe", Need.Token, "a mailing list's one-click unsubscribe (RFC 8058: body List-Unsubscribe=One-Click; the token is the only credential)"),
        new("GET", "/metrics", Need.Scraper, "Prometheus metrics (docs/metrics.md)"),
        new("GET", "/healthz", Need.Scraper, "whether the queue, the mail store and the listeners work"),
    ];

    public static Rule Find(string method, string route) =>
        Table.SingleOrDefault(r => r.Method == method && r.Route == route)
        ?? throw new InvalidOperationException($"no access rule for {method} {route}: add it to WebAccess.Table (and docs/web-admin.md)");

    public static AccessDecision Decide(Need need, WebUser? user)
    {
        if (need is Need.Anyone or Need.Token)
            return AccessDecision.Allowed;
        if (user is null)
            return AccessDecision.SignIn;
        return need switch
        {
            Need.SignedIn => AccessDecision.Allowed,
            Need.SelfService => user.IsApiKey || user.Record.Flags.HasFlag(UserFlags.NoWebmail) ? AccessDecision.Forbidden : AccessDecision.Allowed,
            Need.Admin => user.Role is WebRole.DomainAdmin or WebRole.SystemAdmin or WebRole.ApiKey ? AccessDecision.Allowed : AccessDecision.Forbidden,
            Need.SystemAdmin => user.Role == WebRole.SystemAdmin || (user.IsApiKey && user.Actor.HasSystemScope) ? AccessDecision.Allowed : AccessDecision.Forbidden,
            _ => AccessDecision.Forbidden,
        };
    }

    /// <summary>The role an account logs in as (before its password is checked: no-webmail bars only plain users).</summary>
    public static WebRole RoleOf(Actor actor) => actor.Kind switch
    {
        ActorKind.SystemAdmin => WebRole.SystemAdmin,
        ActorKind.DomainAdmin => WebRole.DomainAdmin,
        _ => WebRole.User,
    };
}
