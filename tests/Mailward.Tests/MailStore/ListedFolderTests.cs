// What the listing tests start from: a Maildir of plain messages straight in cur/, as another server
// left it (sizes in the names), and a store over it.
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public abstract class ListedFolderTests : IDisposable
{
    private readonly TempFolder _dir = new();

    protected ListedFolderTests(int count, MaildirStoreOptions? options = null)
    {
        Layout = new MailStoreLayout(_dir.Path, 100);
        Store = new MaildirStore(Layout, "node-a", "mail.test", options: options);
        foreach (var sub in new[] { "tmp", "new", "cur" })
            Directory.CreateDirectory(Path.Combine(Maildir, sub));
        for (var i = 0; i < count; i++)
            File.WriteAllText(Path.Combine(Cur, $"{1_700_000_000 + i}.M{i}P1.old,S=20:2,"), $"Subject: {i}\r\n\r\nbody\r\n");
    }

    protected MailStoreLayout Layout { get; }

    protected MailboxOwner Owner { get; } = new("joe@hosted.test", "hosted.test/joe");

    protected MaildirStore Store { get; }

    protected string Maildir => MailStoreLayout.MaildirOf(Layout.Resolve(Owner.Directory));

    protected string Cur => Path.Combine(Maildir, "cur");

    public void Dispose()
    {
        _dir.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Opens once (which records the UID list), waits until the folder's times are settled, and opens again: that clean read is kept.</summary>
    protected async Task<IMailbox> SettledAsync()
    {
        (await Store.OpenAsync(Owner)).Dispose();
        await Task.Delay(FolderStamp.Settle + TimeSpan.FromMilliseconds(200));
        return await Store.OpenAsync(Owner);
    }
}
