// Takeover of folder names and subscriptions (docs/mail-store.md "Inside a Maildir" and
// "Subscriptions"): Maildir++ directories in modified UTF-7 (Courier, Dovecot's default) and in
// UTF-8 (Dovecot's UTF8 layout, older Mailward) show as Unicode names and open; new folders are
// written in modified UTF-7; Dovecot's subscriptions (v1, v2) and Courier's courierimapsubscribed
// become mailward-subscriptions once, and are never written.
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class TakeoverNamesTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly MailStoreLayout _layout;
    private readonly MailboxOwner _owner = new("joe@hosted.test", "hosted.test/joe");

    public TakeoverNamesTests() => _layout = new MailStoreLayout(_dir.Path, 100);

    public void Dispose() => _dir.Dispose();

    private string Maildir => MailStoreLayout.MaildirOf(_layout.Resolve(_owner.Directory));

    private MaildirStore Store() => new(_layout, "node-a", "mail.test");

    private void Folder(string directory, params string[] messages)
    {
        foreach (var sub in new[] { "cur", "new", "tmp" })
        {
            Directory.CreateDirectory(Path.Combine(Maildir, sub));
            Directory.CreateDirectory(Path.Combine(Maildir, directory, sub));
        }
        foreach (var m in messages)
            TakeoverTests.Put(Path.Combine(Maildir, directory), m);
    }

    [Fact]
    public async Task Modified_utf7_and_utf8_directories_show_as_unicode_names_and_open()
    {
        Folder(".&AMk-t&AOk-", "1600000001.M1P1.oldhost,S=27:2,S"); // Courier: Été
        Folder(".Тест", "1600000002.M2P2.oldhost,S=27:2,"); // Dovecot's UTF8 layout
        Folder(".Tom&Jerry"); // UTF-8 with '&': not valid modified UTF-7
        Folder(".Lists.&ZeVnLIqe-"); // Lists/日本語
        var store = Store();
        Assert.Equal(["INBOX", "Lists/日本語", "Tom&Jerry", "Été", "Тест"], await store.ListFoldersAsync(_owner));
        using (var ete = await store.OpenAsync(_owner, "Été"))
            Assert.Equal(MessageFlags.Seen, Assert.Single(ete.Entries).Flags);
        using (var test = await store.OpenAsync(_owner, "Тест"))
            Assert.Single(test.Entries);
        using (await store.OpenAsync(_owner, "Tom&Jerry"))
        {
        }
        await Assert.ThrowsAsync<IOException>(() => store.CreateFolderAsync(_owner, "Тест")); // exists in its UTF-8 form
        await Assert.ThrowsAsync<IOException>(() => store.CreateFolderAsync(_owner, "Tom&Jerry"));
    }

    [Fact]
    public async Task New_folders_are_written_in_modified_utf7_and_renames_carry_children_of_either_form()
    {
        Folder(".Тест");
        Folder(".Тест.Unter");
        var store = Store();
        await store.CreateFolderAsync(_owner, "Ünïcode & more");
        Assert.True(Directory.Exists(Path.Combine(Maildir, ".&ANw-n&AO8-code &- more", "cur")));
        await store.CreateFolderAsync(_owner, "Тест/日本語");
        Assert.True(Directory.Exists(Path.Combine(Maildir, ".&BCIENQRBBEI-.&ZeVnLIqe-", "cur")));
        await store.RenameFolderAsync(_owner, "Тест", "Été");
        Assert.Equal(["INBOX", "Été", "Été/Unter", "Été/日本語", "Ünïcode & more"], await store.ListFoldersAsync(_owner));
        Assert.Equal([".&AMk-t&AOk-", ".&AMk-t&AOk-.&ZeVnLIqe-", ".&AMk-t&AOk-.Unter", ".&ANw-n&AO8-code &- more"],
            Directory.GetDirectories(Maildir, ".*").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        await store.DeleteFolderAsync(_owner, "Été/Unter");
        Assert.Equal(["INBOX", "Été", "Été/日本語", "Ünïcode & more"], await store.ListFoldersAsync(_owner));
    }

    [Fact]
    public async Task Dovecot_v2_and_courier_subscriptions_are_imported_once_and_never_written()
    {
        Folder(".Sent");
        Write("subscriptions", "V\t2\n\nArchive\t2026\nТест\nINBOX\nbad\x01tname\n");
        Write("courierimapsubscribed", "INBOX\nINBOX.Sent\nINBOX.&AMk-t&AOk-\nINBOX.Lists.&ZeVnLIqe-\nINBOX.Archive.2026\n");
        var before = (File.ReadAllText(Path.Combine(Maildir, "subscriptions")), File.ReadAllText(Path.Combine(Maildir, "courierimapsubscribed")));
        var store = Store();
        Assert.Equal(["Archive/2026", "Тест", "INBOX", "Sent", "Été", "Lists/日本語"], await store.SubscriptionsAsync(_owner));
        await store.SubscribeAsync(_owner, "Тест", false);
        await store.SubscribeAsync(_owner, "Neu", true);
        Assert.Equal(["Archive/2026", "INBOX", "Sent", "Été", "Lists/日本語", "Neu"], await store.SubscriptionsAsync(_owner));
        Assert.Equal(before, (File.ReadAllText(Path.Combine(Maildir, "subscriptions")), File.ReadAllText(Path.Combine(Maildir, "courierimapsubscribed"))));
        Write("courierimapsubscribed", "INBOX.Later\n"); // read once only: Mailward's own list is the truth now
        Assert.DoesNotContain("Later", await store.SubscriptionsAsync(_owner));
    }

    [Fact]
    public async Task Dovecot_v1_and_older_mailward_subscriptions_read_and_an_empty_list_stays_empty()
    {
        Folder(".Sent");
        Write("subscriptions", "INBOX.Drafts\nJunk\nLists.mutt\nArchive/2026\n.hidden\n");
        var store = Store();
        Assert.Equal(["Drafts", "Junk", "Lists/mutt", "Archive/2026"], await store.SubscriptionsAsync(_owner));
        foreach (var name in await store.SubscriptionsAsync(_owner))
            await store.SubscribeAsync(_owner, name, false);
        Assert.Empty(await store.SubscriptionsAsync(_owner));
        Assert.Empty(await Store().SubscriptionsAsync(_owner));
    }

    private void Write(string file, string text)
    {
        Directory.CreateDirectory(Maildir);
        File.WriteAllText(Path.Combine(Maildir, file), text);
    }
}
