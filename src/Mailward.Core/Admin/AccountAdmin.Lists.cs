// Mailing lists for the web admin and the API (issue 15 item 6): ListAdmin's operations, the same the
// `mailward list` commands call, behind AdminAuthorizer (the list's domain's admins and the system)
// and the audit log, as every other AccountAdmin change. Member sets page by address (keyset).
using System.Globalization;
using Mailward.Core.Accounts;
using Mailward.Core.Lists;

namespace Mailward.Core.Admin;

public sealed partial class AccountAdmin
{
    /// <summary>Lists:* as the server runs with them (the lock wait and the most members a set holds).</summary>
    public ListOptions ListOptions { get; init; } = ListOptions.Default;

    private ListAdmin ListOperations => new(store, layout, ListOptions);

    /// <summary>The domain's lists with their settings and counts (`mailward list domain`).</summary>
    public Task<IReadOnlyList<ListView>> ListListsAsync(Actor actor, string domain) =>
        Task.FromResult(ListOperations.List(AuthorizedDomain(actor, AdminOperation.ListLists, domain, allowAlias: false).Name));

    /// <summary>One list's settings and counts (`mailward list info`).</summary>
    public Task<ListView> GetListAsync(Actor actor, string address)
    {
        AuthorizedList(actor, AdminOperation.ListLists, address);
        return Task.FromResult(ListOperations.Info(address));
    }

    /// <summary>`mailward list add`: not over a user or alias, within the domain's max-lists.</summary>
    public Task<ListView> AddListAsync(Actor actor, string address, ListSettingsChange settings) => ChangeAsync(actor, AdminOperation.AddList, address, () =>
    {
        AuthorizedList(actor, AdminOperation.AddList, address);
        var folder = ListOperations.Add(address, Checked(settings)(new ListConfig()));
        return ListOperations.Info(folder.Address);
    });

    /// <summary>`mailward list del`: its settings, members and archive.</summary>
    public Task DeleteListAsync(Actor actor, string address) => ChangeAsync(actor, AdminOperation.DeleteList, address, () =>
    {
        AuthorizedList(actor, AdminOperation.DeleteList, address);
        ListOperations.Delete(address);
        return true;
    });

    /// <summary>`mailward list set`: the settings given change, under the list's lock; the others keep their values.</summary>
    public Task<ListView> SetListAsync(Actor actor, string address, ListSettingsChange settings) => ChangeAsync(actor, AdminOperation.SetList, address, () =>
    {
        AuthorizedList(actor, AdminOperation.SetList, address);
        ListOperations.Set(address, Checked(settings));
        return ListOperations.Info(address);
    });

    /// <summary>One page of a member set, by address (keyset: after the cursor; search: contains, case-insensitive).</summary>
    public Task<Page<string>> ListListMembersAsync(Actor actor, string address, MemberSet set, PageRequest page)
    {
        AuthorizedList(actor, AdminOperation.ListLists, address);
        var members = ListOperations.Members(address, set);
        IEnumerable<string> rest = members;
        if (page.After is { } after)
        {
            // The set is sorted (ordinal): a binary search, not a scan, finds where the page starts.
            var i = members is List<string> list ? list.BinarySearch(after, StringComparer.Ordinal) : -1;
            rest = i >= 0 ? members.Skip(i + 1) : members.Where(m => string.CompareOrdinal(m, after) > 0);
        }
        if (!string.IsNullOrEmpty(page.Search))
            rest = rest.Where(m => m.Contains(page.Search, StringComparison.OrdinalIgnoreCase));
        var items = rest.Take(page.Size + 1).ToList();
        var next = items.Count > page.Size ? items[page.Size - 1] : null;
        return Task.FromResult(new Page<string>(items.Take(page.Size).ToList(), next));
    }

    /// <summary>`mailward list subscribe|unsubscribe|moderators|allow|deny|digest add|del`: at once, no confirmation; how many changed.</summary>
    public Task<int> ChangeListMembersAsync(Actor actor, string address, MemberSet set, IReadOnlyList<string> addresses, bool add) =>
        ChangeAsync(actor, AdminOperation.ChangeListMembers, address, () =>
        {
            AuthorizedList(actor, AdminOperation.ChangeListMembers, address);
            return ListOperations.Change(address, set, addresses, add);
        });

    /// <summary>The change as a function of the settings as they are; a value no setting takes is InvalidArgument, as the commands' usage error.</summary>
    private static Func<ListConfig, ListConfig> Checked(ListSettingsChange settings) => c =>
    {
        try
        {
            return settings.Apply(c);
        }
        catch (FormatException e)
        {
            throw new AccountException(AccountError.InvalidArgument, e.Message);
        }
    };

    /// <summary>The list's domain once the actor may <paramref name="operation"/> on it; asked before whether the list exists.</summary>
    private DomainRecord AuthorizedList(Actor actor, AdminOperation operation, string address)
    {
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
            throw new AccountException(AccountError.InvalidArgument, $"not a list address: {address} (team@example.com)");
        return AuthorizedDomain(actor, operation, address[(at + 1)..], allowAlias: false);
    }

    /// <summary>A list's settings and counts as the audit log records them.</summary>
    private State ListState(string address)
    {
        var (_, d) = Split(address);
        if (d is null)
            return default;
        try
        {
            var v = ListOperations.Info(address);
            var c = v.Config;
            return new(d.Name, string.Create(CultureInfo.InvariantCulture,
                $"name={c.Name}; policy={ListConfig.Keyword(c.Policy)}; prefix={c.Prefix}; reply-to={ListConfig.Keyword(c.ReplyTo)}; from-rewrite={ListConfig.Keyword(c.FromRewrite)}; max-bytes={c.MaxBytes}; owner={c.Owner}; confirm-unsubscribe={(c.ConfirmUnsubscribe ? "yes" : "no")}; trailer={c.Trailer}; subscribers={v.Subscribers}; moderators={v.Moderators}; allow={v.Allow}; deny={v.Deny}"));
        }
        catch (AccountException)
        {
            return new(d.Name, null); // no such list (yet, or any more)
        }
    }
}
