// A user's forward as the web's forward page sets it (issue 13: "own forward, with keep a copy"):
// the address's alias lines, replaced whole in one write. Targets are addresses only (&address);
// "keep a copy" is a line to the user's own Maildir that this code makes from the account's folder,
// never a path anyone types. An address whose lines the command line set otherwise (a program, a
// file, another Maildir) is shown but replaced only by the system.
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.MailStore;

namespace Mailward.Core.Admin;

/// <param name="Targets">The addresses mail is forwarded to (none: mail stays in the mailbox).</param>
/// <param name="KeepCopy">A copy also goes to the own mailbox.</param>
/// <param name="OtherLines">Lines the command line set that the forward page does not make (programs, files, other Maildirs).</param>
public sealed record ForwardView(string Address, IReadOnlyList<string> Targets, bool KeepCopy, IReadOnlyList<string> OtherLines);

public sealed partial class AccountAdmin
{
    public Task<ForwardView> GetForwardAsync(Actor actor, string address)
    {
        var u = AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.ReadUser, u.Domain, u.Address));
        return Task.FromResult(ForwardOf(u));
    }

    /// <summary>Replaces the user's forward: no targets turns it off (mail stays in the mailbox).</summary>
    public Task<ForwardView> SetForwardAsync(Actor actor, string address, IReadOnlyList<string> targets, bool keepCopy) =>
        ChangeAsync(actor, AdminOperation.SetForward, address, () =>
    {
        var u = AuthorizedUser(actor, address, u => new AdminRequest(AdminOperation.SetForward, u.Domain, u.Address) { TargetFlags = u.Flags });
        var current = ForwardOf(u);
        if (current.OtherLines.Count > 0 && !actor.HasSystemScope)
            throw new AccountException(AccountError.Forbidden,
                $"forbidden: {u.Address}'s delivery has lines set on the command line ({string.Join(", ", current.OtherLines)}); only the system replaces them");
        var lines = new List<string>();
        foreach (var t in targets.Select(t => t.Trim()).Where(t => t.Length > 0))
        {
            // Addresses only: a line beginning with | or / (or anything else that is no address) is refused here, whoever asks.
            if (t[0] is '|' or '/' or '.' || !ForwardAddress.TryNormalize(t.TrimStart('&'), out var normalized, out var error))
                throw new AccountException(AccountError.InvalidArgument, $"not an address: {t} (a forward goes to addresses only)");
            if (normalized == u.Address)
                throw new AccountException(AccountError.InvalidArgument, "a forward cannot go to its own address (tick \"keep a copy\" instead)");
            lines.Add("&" + normalized);
        }
        if (lines.Count > 0 && keepCopy)
            lines.Add(OwnMaildirLine(u));
        store.SetAliasLines(u.DomainId, u.Local, [.. lines.Distinct(StringComparer.Ordinal), .. current.OtherLines]);
        return ForwardOf(store.FindUser(u.Local, u.Domain) ?? u);
    });

    private ForwardView ForwardOf(UserRecord u)
    {
        var lines = store.FindAlias(u.Local, u.Domain)?.Lines ?? [];
        var own = OwnMaildirLine(u);
        return new ForwardView(u.Address, lines.Where(l => l.StartsWith('&')).Select(l => l[1..]).ToList(),
            lines.Contains(own, StringComparer.Ordinal), lines.Where(l => !l.StartsWith('&') && l != own).ToList());
    }

    /// <summary>The line that delivers to the account's own Maildir (as vpopmail's qmailadmin writes it for "save a copy").</summary>
    private string OwnMaildirLine(UserRecord u) => MailStoreLayout.MaildirOf(layout.Resolve(u.Directory)).TrimEnd('/') + "/";
}
