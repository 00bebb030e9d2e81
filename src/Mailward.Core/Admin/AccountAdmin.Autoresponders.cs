// Autoresponder operations (docs/autoresponder.md): set, show, remove and list the automatic answer
// of a user's or an alias's address. A user may manage its own; a domain admin those of its
// domains (AdminAuthorizer). The address must exist as a user or an alias; an alias domain's name
// means its real domain.
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin
{
    /// <summary>Bounds on the text and the default interval (settings Autoresponder:MaxTextBytes, Autoresponder:DefaultIntervalDays).</summary>
    public AutoresponderLimits Autoresponders { get; init; } = AutoresponderLimits.Default;

    /// <summary>Adds or changes the autoresponder of an address; fields the change leaves null keep their value.</summary>
    public Task<AutoresponderView> SetAutoresponderAsync(Actor actor, string address, AutoresponderChange change) =>
        ChangeAsync(actor, AdminOperation.SetAutoresponder, address, () =>
    {
        var (domain, local) = AuthorizedAddress(actor, AdminOperation.SetAutoresponder, address);
        var old = store.FindAutoresponder(domain.Id, local);
        var text = change.Text ?? old?.Body
            ?? throw new AccountException(AccountError.InvalidArgument, "a new autoresponder needs its text");
        var subject = change.Subject ?? old?.Subject ?? AutoresponderLimits.DefaultSubject;
        var record = new AutoresponderRecord(domain.Id, local, subject.Trim(), text,
            change.ClearStart ? null : change.StartsAt ?? old?.StartsAt,
            change.ClearEnd ? null : change.EndsAt ?? old?.EndsAt,
            change.IntervalDays ?? old?.IntervalDays ?? Autoresponders.DefaultIntervalDays,
            change.Deliver ?? old?.Deliver ?? true, _time.GetUtcNow());
        Validate(record);
        store.SetAutoresponder(record, domain.Limits.MaxAutoresponders);
        return View(domain, store.FindAutoresponder(domain.Id, local)!);
    });

    /// <summary>The autoresponder of an address, or null when it has none.</summary>
    public Task<AutoresponderView?> GetAutoresponderAsync(Actor actor, string address)
    {
        var (domain, local) = AuthorizedAddress(actor, AdminOperation.ReadAutoresponder, address);
        return Task.FromResult(store.FindAutoresponder(domain.Id, local) is { } a ? View(domain, a) : null);
    }

    /// <summary>Removes the autoresponder of an address (and who it answered); false when it had none.</summary>
    public Task<bool> DeleteAutoresponderAsync(Actor actor, string address) => ChangeAsync(actor, AdminOperation.DeleteAutoresponder, address, () =>
    {
        var (domain, local) = AuthorizedAddress(actor, AdminOperation.DeleteAutoresponder, address);
        return store.DeleteAutoresponder(domain.Id, local);
    });

    public Task<IReadOnlyList<AutoresponderView>> ListAutorespondersAsync(Actor actor, string domain)
    {
        var d = AuthorizedDomain(actor, AdminOperation.ListAutoresponders, domain, allowAlias: true);
        return Task.FromResult<IReadOnlyList<AutoresponderView>>(store.ListAutoresponders(d.Id).Select(a => View(d, a)).ToList());
    }

    private void Validate(AutoresponderRecord a)
    {
        if (a.Body.Trim().Length == 0)
            throw new AccountException(AccountError.InvalidArgument, "the autoresponder's text is empty");
        if (Encoding.UTF8.GetByteCount(a.Body) > Autoresponders.MaxTextBytes)
            throw new AccountException(AccountError.InvalidArgument,
                $"the autoresponder's text is longer than {Autoresponders.MaxTextBytes} bytes (Autoresponder:MaxTextBytes)");
        if (a.Subject.Length > AutoresponderLimits.MaxSubjectLength || a.Subject.Any(char.IsControl))
            throw new AccountException(AccountError.InvalidArgument, $"the subject must be one line of at most {AutoresponderLimits.MaxSubjectLength} characters");
        if (a.IntervalDays is < 1 or > AutoresponderLimits.MaxIntervalDays)
            // 0 would answer every message: a crash's retry could answer twice, and two autoresponders could ping-pong.
            throw new AccountException(AccountError.InvalidArgument, $"the interval must be 1 to {AutoresponderLimits.MaxIntervalDays} days");
        if (a.StartsAt is { } s && a.EndsAt is { } e && e <= s)
            throw new AccountException(AccountError.InvalidArgument, "the end must come after the start");
    }

    private AutoresponderView View(DomainRecord d, AutoresponderRecord a)
    {
        var now = _time.GetUtcNow();
        return new AutoresponderView($"{a.Local}@{d.Name}", a.Subject, a.Body, a.StartsAt, a.EndsAt, a.IntervalDays, a.Deliver, a.UpdatedAt,
            a.ActiveAt(now), store.CountRememberedSenders(d.Id, a.Local, now));
    }

    /// <summary>
    /// The domain and local part an address names, once the actor may act on it: asked before
    /// "does it exist" (another tenant learns nothing), then the address must be a user or an alias.
    /// </summary>
    private (DomainRecord Domain, string Local) AuthorizedAddress(Actor actor, AdminOperation operation, string address)
    {
        var a = MailAddress.Parse(address);
        var domain = store.FindDomain(a.Domain);
        var user = domain is null ? null : store.FindUser(a.Local, domain.Name);
        AdminAuthorizer.Authorize(actor, new AdminRequest(operation, domain?.Name ?? a.Domain, $"{a.Local}@{domain?.Name ?? a.Domain}")
        {
            TargetFlags = user?.Flags ?? UserFlags.None,
        });
        if (domain is null)
            throw new AccountException(AccountError.DomainNotFound, $"domain does not exist: {a.Domain}");
        if (user is null && store.FindAlias(a.Local, domain.Name) is null)
            throw new AccountException(AccountError.UserNotFound, $"no user or alias {a.Local}@{domain.Name}");
        return (domain, a.Local);
    }
}
