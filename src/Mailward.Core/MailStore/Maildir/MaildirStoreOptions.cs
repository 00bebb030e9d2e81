// The Maildir store's limits (settings MailStore:*, SettingsCatalog.cs gives each default its reason).
namespace Mailward.Core.MailStore.Maildir;

public sealed record MaildirStoreOptions
{
    /// <summary>MailStore:ExpungeHistory: expunged UIDs per folder remembered for QRESYNC's VANISHED (EARLIER).</summary>
    public int ExpungeHistory { get; init; } = 100_000;

    /// <summary>MailStore:ListingCacheMessages: messages of folders' listings kept in memory in all (each folder counts 16 more).</summary>
    public int ListingCacheMessages { get; init; } = 500_000;

    /// <summary>MailStore:WatchFolders: kept listings' folders on local file systems are watched with inotify instead of stamped at every sync.</summary>
    public bool WatchFolders { get; init; } = true;

    /// <summary>Imap:AppendLimitBytes: the largest message an APPEND stores (IMAP's APPENDLIMIT).</summary>
    public long MaxAppendBytes { get; init; } = 52_428_800;

    /// <summary>Where the owners' quotas come from; none: no quota is checked.</summary>
    public Quotas.IOwnerQuotas? Quotas { get; init; }
}
