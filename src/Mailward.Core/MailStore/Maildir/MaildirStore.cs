// The mail store over Maildir++ (docs/mail-store.md "Inside a Maildir"): an owner's INBOX is its
// Maildir, folder "A/B" is Maildir/.A.B (levels in modified UTF-7), subscriptions are one name a
// line in Maildir/mailward-subscriptions (read once from Dovecot's or Courier's files before it exists).
// The owner's Maildir is found from the account's stored folder, never from a path a caller gives.
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore.Maildir;

public sealed class MaildirStore(MailStoreLayout layout, string nodeId, string hostname, TimeProvider? time = null, MailboxEvents? events = null,
    MaildirStoreOptions? options = null)
    : IMailStore
{
    internal const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const string Subscriptions = "mailward-subscriptions";

    internal TimeProvider Time { get; } = time ?? TimeProvider.System;

    internal MaildirStoreOptions Options { get; } = options ??= new MaildirStoreOptions();

    /// <summary>Clean listings of folders, so a SELECT of an unchanged folder is a few stat calls (or none while a big one is watched).</summary>
    internal FolderListingCache Listings { get; } = new(options.ListingCacheMessages, options.WatchFolders);

    /// <summary>Syncs a mailbox answered from its own last listing, not the cache's (for tests and the curious).</summary>
    internal long OwnListingHits;

    /// <summary>Bounds on parsing a message's structure (the Imap:MaxMime* settings).</summary>
    public Structure.StructureLimits StructureLimits { get; init; } = Structure.StructureLimits.Default;

    /// <summary>Sessions' changes are announced here, so other sessions of the owner look again.</summary>
    internal void Publish(MailboxOwner owner, string folder, MailboxChangeKind kind) => events?.Publish(new MailboxChange(owner.Address, folder, kind));

    /// <summary>The owner's published-change number (null without an event hub: then no provisional listing is kept).</summary>
    internal long? Generation(MailboxOwner owner) => events?.Generation(owner.Address);

    public string MaildirOf(MailboxOwner owner) => MailStoreLayout.MaildirOf(layout.Resolve(owner.Directory));

    public Task<IMailbox> OpenAsync(MailboxOwner owner, string folder = "INBOX", CancellationToken ct = default)
    {
        // On the caller's thread, as SyncAsync: a hop to another pool thread would only add its wait
        // (most opens are answered by the listing cache in a few stat calls). Failures as a faulted task.
        try
        {
            return Task.FromResult<IMailbox>(Open(owner, folder));
        }
        catch (Exception e)
        {
            return Task.FromException<IMailbox>(e);
        }
    }

    private MaildirMailbox Open(MailboxOwner owner, string folder)
    {
        var maildir = MaildirOf(owner);
        var path = FolderPath(maildir, folder);
        // INBOX's tmp/, new/ and cur/ are made when the sync's first stamp finds one missing
        // (MaildirMailbox.Sync): three mkdir calls at every SELECT were most of a cached one's cost.
        if (!IsInbox(folder) && !Directory.Exists(Path.Combine(path, "cur")))
            throw new DirectoryNotFoundException($"no folder {folder}");
        var box = new MaildirMailbox(this, owner, IsInbox(folder) ? "INBOX" : folder, path, maildir);
        try
        {
            box.Sync();
            return box;
        }
        catch
        {
            box.Dispose();
            throw;
        }
    }

    public Task<IReadOnlyList<string>> ListFoldersAsync(MailboxOwner owner, CancellationToken ct = default)
    {
        var maildir = MaildirOf(owner);
        var names = new List<string> { "INBOX" };
        names.AddRange(MaildirFolderNames.Directories(maildir).Select(MaildirFolderNames.FromDisk).Distinct().Order(StringComparer.Ordinal));
        return Task.FromResult<IReadOnlyList<string>>(names);
    }

    public Task CreateFolderAsync(MailboxOwner owner, string folder, CancellationToken ct = default)
    {
        var path = FolderPath(MaildirOf(owner), folder);
        if (IsInbox(folder) || Directory.Exists(path))
            throw new IOException($"folder {folder} exists");
        MakeFolder(path);
        return Task.CompletedTask;
    }

    private static void MakeFolder(string path)
    {
        foreach (var sub in new[] { "tmp", "new", "cur" })
            Directory.CreateDirectory(Path.Combine(path, sub), Private);
        File.WriteAllBytes(Path.Combine(path, "maildirfolder"), []); // Maildir++: counts toward the INBOX's quota
    }

    /// <summary>
    /// Delivery's way into a folder the door chose (Junk, for a DMARC quarantine): its path, made and
    /// subscribed first when missing, as the first IMAP login would have made it.
    /// </summary>
    public static async Task<string> DeliveryFolderAsync(string maildir, string folder, CancellationToken ct = default)
    {
        var path = FolderPath(maildir, folder);
        if (Directory.Exists(Path.Combine(path, "cur")))
            return path;
        MakeFolder(path);
        var current = (await SubscriptionsAtAsync(maildir, ct)).ToList();
        if (!current.Contains(folder))
            await WriteSubscriptionsAsync(maildir, [.. current, folder], ct);
        return path;
    }

    public Task RenameFolderAsync(MailboxOwner owner, string from, string to, CancellationToken ct = default)
    {
        var maildir = MaildirOf(owner);
        var source = FolderPath(maildir, from);
        var target = FolderPath(maildir, to);
        if (IsInbox(from) || IsInbox(to) || !Directory.Exists(source) || Directory.Exists(target))
            throw new IOException($"cannot rename {from} to {to}");
        // Children move with their parent (RFC 9051 §6.3.6): "A/x" becomes "B/x", whichever form its directory had.
        foreach (var child in MaildirFolderNames.Directories(maildir).Where(d => MaildirFolderNames.FromDisk(d).StartsWith(from + "/", StringComparison.Ordinal)).ToList())
            Directory.Move(Path.Combine(maildir, child), FolderPath(maildir, to + MaildirFolderNames.FromDisk(child)[from.Length..]));
        Directory.Move(source, target);
        return Task.CompletedTask;
    }

    public Task DeleteFolderAsync(MailboxOwner owner, string folder, CancellationToken ct = default)
    {
        var path = FolderPath(MaildirOf(owner), folder);
        if (IsInbox(folder) || !Directory.Exists(path))
            throw new IOException($"cannot delete {folder}");
        Directory.Delete(path, recursive: true);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> SubscriptionsAsync(MailboxOwner owner, CancellationToken ct = default) => SubscriptionsAtAsync(MaildirOf(owner), ct);

    private static async Task<IReadOnlyList<string>> SubscriptionsAtAsync(string maildir, CancellationToken ct)
    {
        var file = Path.Combine(maildir, Subscriptions);
        if (File.Exists(file))
            return (await File.ReadAllLinesAsync(file, ct)).Where(l => l.Length > 0).ToList();
        // Once, before Mailward keeps its own: what Dovecot, Courier or an older Mailward left (never written to).
        var imported = Takeover.ForeignSubscriptions.Read(maildir, IsValidName);
        if (Directory.Exists(maildir))
            await WriteSubscriptionsAsync(maildir, imported, ct);
        return imported;
    }

    private static async Task WriteSubscriptionsAsync(string maildir, IReadOnlyList<string> names, CancellationToken ct)
    {
        var tmp = Path.Combine(maildir, Subscriptions + ".tmp");
        await File.WriteAllTextAsync(tmp, string.Concat(names.Select(n => n + "\n")), ct);
        File.Move(tmp, Path.Combine(maildir, Subscriptions), overwrite: true);
    }

    public async Task SubscribeAsync(MailboxOwner owner, string folder, bool subscribed, CancellationToken ct = default)
    {
        var maildir = MaildirOf(owner);
        FolderPath(maildir, folder); // validates the name
        var current = (await SubscriptionsAsync(owner, ct)).ToList();
        current.RemoveAll(n => n == folder);
        if (subscribed)
            current.Add(folder);
        await WriteSubscriptionsAsync(maildir, current, ct);
    }

    private static bool IsInbox(string folder) => folder.Equals("INBOX", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The folder's path: the Maildir for INBOX, else Maildir/.A.B for "A/B" (levels in modified UTF-7,
    /// or an existing directory whose name reads as the folder). Names that could leave the Maildir are refused.
    /// </summary>
    public static string FolderPath(string maildir, string folder)
    {
        if (IsInbox(folder))
            return maildir;
        if (!IsValidName(folder))
            throw new ArgumentException($"not a valid folder name: {folder}");
        return MaildirFolderNames.Find(maildir, folder);
    }

    private static bool IsValidName(string folder)
    {
        var levels = folder.Split('/');
        if (Encoding.UTF8.GetByteCount(folder) > 200 || levels.Any(l => l.Length == 0 || l.Contains('.', StringComparison.Ordinal) || l[0] == '~'
            || l.Any(c => c < ' ' || c == '\x7f')))
            return false;
        try
        {
            return MaildirFolderNames.Fits(folder);
        }
        catch (ArgumentException)
        {
            return false; // a lone surrogate has no modified UTF-7 form
        }
    }

    public async Task<IReadOnlyList<QuotaRoot>> QuotaAsync(MailboxOwner owner, CancellationToken ct = default) =>
        Options.Quotas is { } quotas ? await quotas.RootsAsync(owner, ct) : [];

    /// <summary>
    /// Refuses (MailboxOverQuotaException, RFC 9208 §4.3) when <paramref name="bytes"/> more in
    /// <paramref name="messages"/> more messages would pass one of <paramref name="roots"/>. Strict, unlike
    /// delivery's pass for notices of 1 KB or less: a client's own APPEND or COPY can wait for room.
    /// </summary>
    internal static void CheckQuota(IReadOnlyList<QuotaRoot> roots, long bytes, long messages)
    {
        foreach (var root in roots)
            if (root.Exceeded(bytes, messages))
                throw new MailboxOverQuotaException($"{root.Name} exceeded ({root.Usage} of {root.Limit} used)");
    }

    /// <summary>TIME.UNIQUE of a message this node writes for a client (APPEND, COPY): a random part and the node id.</summary>
    internal string NewBase(DateTimeOffset internalDate, char kind) =>
        $"{internalDate.ToUnixTimeSeconds()}.{kind}{RandomNumberGenerator.GetHexString(16, lowercase: true)}N{MaildirName.EncodeNodeId(nodeId)}";

    internal string Hostname => hostname;
}
