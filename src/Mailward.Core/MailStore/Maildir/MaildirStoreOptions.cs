// The Maildir store's limits (settings MailStore:*, SettingsCatalog.cs gives each default its reason).
namespace Mailward.Core.MailStore.Maildir;

public sealed record MaildirStoreOptions
{
    /// <summary>MailStore:ExpungeHistory: expunged UIDs per folder remembered for QRESYNC's VANISHED (EARLIER).</summary>
    public int ExpungeHistory { get; init; } = 100_000;
}
