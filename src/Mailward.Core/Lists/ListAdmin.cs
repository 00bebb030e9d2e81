// The admin operations on mailing lists (docs/lists.md, "Commands"), one face-independent set the
// commands use now and the web admin and API can use later: add (not over a user or alias, within
// the domain's max lists), delete, the domain's lists, settings, and the member sets, each change
// under the list's lock. Errors are AccountExceptions, named as the other admin operations' are.
using Mailward.Core.Accounts;
using Mailward.Core.MailStore;

namespace Mailward.Core.Lists;

public sealed record ListView(string Address, ListConfig Config, int Subscribers, int Moderators, int Allow, int Deny, long LastNumber);

public sealed class ListAdmin(IAccountStore store, MailStoreLayout layout, ListOptions options)
{
    private readonly ListDirectory _lists = new(layout);

    /// <summary>The list of an address (its domain hosted, its name well formed); it need not exist.</summary>
    public (ListFolder Folder, DomainRecord Domain) Resolve(string address)
    {
        var at = address.LastIndexOf('@');
        if (at <= 0 || at == address.Length - 1)
            throw new AccountException(AccountError.InvalidArgument, $"not a list address: {address} (team@example.com)");
        var domain = store.FindDomain(address[(at + 1)..].ToLowerInvariant())
            ?? throw new AccountException(AccountError.DomainNotFound, $"domain not hosted here: {address[(at + 1)..]}");
        var name = address[..at].ToLowerInvariant();
        if (ListFolder.CheckName(name) is { } why)
            throw new AccountException(AccountError.IllegalUser, $"{name}: {why}");
        return (_lists.Folder(domain, name), domain);
    }

    private ListFolder Existing(string address)
    {
        var (folder, _) = Resolve(address);
        return folder.Exists ? folder : throw new AccountException(AccountError.AliasNotFound, $"no such list: {folder.Address}");
    }

    /// <summary>A damaged list file, a lock held too long or a full set, as the admin operations' error.</summary>
    private static T Guard<T>(Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (Exception e) when (e is ListDamagedException or TimeoutException or InvalidOperationException)
        {
            throw new AccountException(AccountError.StorageFailed, e.Message);
        }
    }

    public ListFolder Add(string address, ListConfig config)
    {
        var (folder, domain) = Resolve(address);
        if (folder.Exists)
            throw new AccountException(AccountError.UserExists, $"{folder.Address} is a list already");
        if (store.FindUser(folder.Name, domain.Name) is not null || store.FindAlias(folder.Name, domain.Name) is not null)
            throw new AccountException(AccountError.UserExists, $"{folder.Address} is a user or an alias: a list cannot take its name");
        if (domain.Limits.MaxLists is { } max && Names(domain).Count >= max)
            throw new AccountException(AccountError.LimitReached, $"{domain.Name} has its most lists ({max}; mailward domain limits)");
        folder.Create(config);
        return folder;
    }

    public void Delete(string address)
    {
        var folder = Existing(address);
        // The config first: from then on it is no list, whatever of the rest a crash leaves (list add starts afresh).
        File.Delete(folder.PathOf("config"));
        Directory.Delete(folder.Path, recursive: true);
    }

    /// <summary>The names of a domain's lists, sorted.</summary>
    public IReadOnlyList<string> Names(DomainRecord domain)
    {
        var dir = ListFolder.ListsOf(layout.Resolve(domain.Directory));
        return !Directory.Exists(dir) ? []
            : Directory.EnumerateDirectories(dir).Select(Path.GetFileName).OfType<string>()
                .Where(n => ListFolder.CheckName(n) is null && _lists.Folder(domain, n).Exists).Order(StringComparer.Ordinal).ToList();
    }

    public IReadOnlyList<ListView> List(string domainName)
    {
        var domain = store.FindDomain(domainName.ToLowerInvariant()) ?? throw new AccountException(AccountError.DomainNotFound, $"domain not hosted here: {domainName}");
        return Guard(() => Names(domain).Select(n => View(_lists.Folder(domain, n))).ToList());
    }

    public ListView Info(string address) => Guard(() => View(Existing(address)));

    private static ListView View(ListFolder f) => new(f.Address, f.ReadConfig(), f.Members(MemberSet.Subscribers).Count, f.Members(MemberSet.Moderators).Count,
        f.Members(MemberSet.Allow).Count, f.Members(MemberSet.Deny).Count, f.LastNumber());

    public ListConfig Set(string address, Func<ListConfig, ListConfig> change, bool newSecret = false)
    {
        var folder = Existing(address);
        return Guard(() =>
        {
            using (folder.Lock(options.LockWait))
            {
                var config = change(folder.ReadConfig());
                folder.WriteConfig(config);
                if (newSecret)
                    folder.NewSecret();
                return config;
            }
        });
    }

    public IReadOnlyList<string> Members(string address, MemberSet set) => Guard(() => Existing(address).Members(set));

    /// <summary>Adds or removes addresses at once (an admin needs no confirmation); how many changed.</summary>
    public int Change(string address, MemberSet set, IEnumerable<string> addresses, bool add)
    {
        var folder = Existing(address);
        var normalized = addresses.Select(a => a.Contains('@') && !a.Contains(' ') ? ListFolder.Normalize(a)
            : throw new AccountException(AccountError.InvalidArgument, $"not an address: {a}")).ToList();
        return Guard(() =>
        {
            using (folder.Lock(options.LockWait))
                return folder.Change(set, normalized, add, options.MaxMembers);
        });
    }
}
