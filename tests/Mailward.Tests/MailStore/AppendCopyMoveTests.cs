// APPEND, COPY and MOVE (docs/mail-store.md "APPEND, COPY and MOVE", "Quotas"): APPEND streams into
// cur/ with its flags and sizes in the name and is reported by the next sync; COPY of one message
// twice makes two; COPY and MOVE of a set give COPYUID pairs in source order, translate keywords and
// never replace a file; quotas from a real account store (SQLite) refuse APPEND and COPY, not MOVE;
// maildirsize follows; each crash state of the table.
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Core.MailStore.Quotas;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class AppendCopyMoveTests : IAsyncLifetime, IDisposable
{
    private readonly MailwardRunner _m = new();
    private MailboxOwner _owner = null!;
    private MailStoreLayout _layout = null!;

    public async Task InitializeAsync()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "joe@hosted.test", "pw")).Ok();
        _owner = MailboxOwner.Of(_m.Store.FindUser("joe", "hosted.test")!);
        _layout = new MailStoreLayout(_m.MailStore, 100);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _m.Dispose();

    private MaildirStore Store(long maxAppend = 26_214_400) => new(_layout, "node-a", "mail.test", options: new MaildirStoreOptions
    {
        MaxAppendBytes = maxAppend,
        Quotas = new AccountOwnerQuotas(_m.Store, _m.Store, _layout),
    });

    private string Maildir => MailStoreLayout.MaildirOf(_layout.Resolve(_owner.Directory));

    private static MemoryStream Message(string subject, int bodyBytes = 10) =>
        new(Encoding.ASCII.GetBytes($"Subject: {subject}\r\n\r\n{new string('x', bodyBytes)}\r\n"));

    private static string Read(IMailbox box, uint uid)
    {
        using var r = box.OpenMessage(uid)!;
        var buffer = new byte[4096];
        return Encoding.ASCII.GetString(buffer, 0, r.Read(buffer));
    }

    private Quota MaildirsizeUsage() => MaildirQuota.Usage(Maildir, _m.Store.FindUser("joe", "hosted.test")!.Quota);

    [Fact]
    public async Task A_link_put_in_place_of_a_message_file_is_not_followed()
    {
        // A local attacker who can write into cur/ swaps a message for a link to a file of theirs
        // choosing: the message reads as gone, the target is never served.
        var store = Store();
        using var box = await store.OpenAsync(_owner);
        var uid = await box.AppendAsync(Message("mine"), MessageFlags.None, [], DateTimeOffset.UtcNow);
        await box.SyncAsync();
        Assert.StartsWith("Subject: mine", Read(box, uid));
        var file = Directory.GetFiles(Path.Combine(Maildir, "cur")).Single();
        var secret = Path.Combine(_m.Data, "secret");
        File.WriteAllText(secret, "Subject: not yours\n\nsecret\n");
        File.Delete(file);
        File.CreateSymbolicLink(file, secret);
        Assert.Null(box.OpenMessage(uid));
        using var again = await store.OpenAsync(_owner);
        Assert.All(again.Entries, e => Assert.Null(again.OpenMessage(e.Uid)));
    }

    [Fact]
    public async Task Append_streams_into_cur_with_flags_and_sizes_in_the_name_and_the_next_sync_reports_it()
    {
        var store = Store();
        using var box = await store.OpenAsync(_owner);
        var before = MaildirsizeUsage();
        var uid = await box.AppendAsync(Message("a"), MessageFlags.Seen | MessageFlags.Flagged, ["$Work"], DateTimeOffset.FromUnixTimeSeconds(1_750_000_000));
        Assert.Equal(1u, uid);
        var name = Path.GetFileName(Assert.Single(Directory.GetFiles(Path.Combine(Maildir, "cur"))));
        // 23 bytes on disk (LF), 26 with CRLF; flags F, S and keyword letter a in the name.
        Assert.Matches(@"^1750000000\.A[0-9a-f]{16}Nnode-a\.mail\.test,S=23,W=26:2,FSa$", name);
        Assert.Empty(Directory.GetFiles(Path.Combine(Maildir, "tmp")));
        Assert.Equal("Subject: a\n\nxxxxxxxxxx\n", Read(box, uid));
        Assert.Equal(new Quota(before.Bytes + 23, before.Messages + 1), MaildirsizeUsage());
        var changes = await box.SyncAsync(); // the session tells its client: EXISTS
        var added = Assert.Single(changes.Added);
        Assert.Equal(["$Work"], added.Keywords);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_750_000_000), added.InternalDate);
        Assert.Equal(26, added.VirtualSize);
    }

    [Fact]
    public async Task Append_past_the_size_limit_is_refused_and_keeps_nothing()
    {
        using var box = await Store(maxAppend: 100).OpenAsync(_owner);
        await Assert.ThrowsAsync<MessageTooLargeException>(() => box.AppendAsync(Message("big", 200), MessageFlags.None, DateTimeOffset.UnixEpoch));
        Assert.Empty(Directory.GetFiles(Path.Combine(Maildir, "tmp")));
        Assert.Empty(Directory.GetFiles(Path.Combine(Maildir, "cur")));
        Assert.Equal(1u, await box.AppendAsync(Message("small", 50), MessageFlags.None, DateTimeOffset.UnixEpoch));
    }

    [Fact]
    public async Task Copy_of_one_message_twice_into_one_folder_makes_two_messages()
    {
        var store = Store();
        await store.CreateFolderAsync(_owner, "Archive");
        using var box = await store.OpenAsync(_owner);
        await box.AppendAsync(Message("twice"), MessageFlags.Seen, DateTimeOffset.FromUnixTimeSeconds(1_750_000_000));
        Assert.Equal(1u, await box.CopyAsync(1, "Archive"));
        Assert.Equal(2u, await box.CopyAsync(1, "Archive")); // failed before: the second link's name existed
        using var archive = await store.OpenAsync(_owner, "Archive");
        Assert.Equal([1u, 2u], archive.Entries.Select(e => e.Uid));
        Assert.All(archive.Entries, e => Assert.Equal(MessageFlags.Seen, e.Flags));
        Assert.All(archive.Entries, e => Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_750_000_000), e.InternalDate));
        Assert.NotEqual(archive.Entries[0].Pop3Uidl, archive.Entries[1].Pop3Uidl);
        Assert.Equal(3, MaildirsizeUsage().Messages);
        // Into the folder it is in: a third message there.
        var again = await archive.CopyAsync([1u], "Archive");
        Assert.Equal([(1u, 3u)], again.Uids);
    }

    [Fact]
    public async Task Copy_and_move_of_a_set_pair_uids_in_source_order_and_translate_keywords()
    {
        var store = Store();
        await store.CreateFolderAsync(_owner, "Archive");
        using (var archive = await store.OpenAsync(_owner, "Archive"))
        {
            await archive.AppendAsync(Message("there"), MessageFlags.None, ["$Other"], DateTimeOffset.UnixEpoch); // takes letter a there
        }
        using var box = await store.OpenAsync(_owner);
        // Internal dates against the UID order: the copies must still get UIDs in source order.
        await box.AppendAsync(Message("1"), MessageFlags.None, ["$Work"], DateTimeOffset.FromUnixTimeSeconds(1_750_000_300));
        await box.AppendAsync(Message("2"), MessageFlags.Answered, DateTimeOffset.FromUnixTimeSeconds(1_750_000_200));
        await box.AppendAsync(Message("3"), MessageFlags.None, DateTimeOffset.FromUnixTimeSeconds(1_750_000_100));
        var copied = await box.CopyAsync([3u, 1u, 2u, 99u], "Archive");
        Assert.Equal([(1u, 2u), (2u, 3u), (3u, 4u)], copied.Uids);
        var moved = await box.MoveAsync([1u, 3u], "Archive");
        Assert.Equal([(1u, 5u), (3u, 6u)], moved.Uids);
        Assert.Equal([2u], box.Entries.Select(e => e.Uid));
        using var target = await store.OpenAsync(_owner, "Archive");
        Assert.Equal(copied.UidValidity, target.UidValidity);
        Assert.Equal(["$Other", "$Work", "", "", "$Work", ""], target.Entries.Select(e => string.Join(' ', e.Keywords)));
        Assert.Equal(["there", "1", "2", "3", "1", "3"], target.Entries.Select(e => Read(target, e.Uid).Split('\n')[0]["Subject: ".Length..]));
        Assert.Equal(MessageFlags.Answered, target.Entries[2].Flags);
        // MOVE inside one owner changes no usage; COPY added three.
        Assert.Equal(7, MaildirsizeUsage().Messages);
    }

    [Fact]
    public async Task Move_never_replaces_a_file_of_the_same_name_in_the_target()
    {
        var store = Store();
        await store.CreateFolderAsync(_owner, "Trash");
        using var box = await store.OpenAsync(_owner);
        await box.AppendAsync(Message("m"), MessageFlags.None, DateTimeOffset.UnixEpoch);
        var name = Path.GetFileName(Directory.GetFiles(Path.Combine(Maildir, "cur")).Single());
        // A file of the same name already there (a copy made the old way, or by another server).
        File.Copy(Path.Combine(Maildir, "cur", name), Path.Combine(Maildir, ".Trash", "cur", name));
        var moved = await box.MoveAsync([1u], "Trash");
        Assert.Equal([(1u, 2u)], moved.Uids.ToArray());
        using var trash = await store.OpenAsync(_owner, "Trash");
        Assert.Equal(2, trash.Entries.Count);
        Assert.Empty(Directory.GetFiles(Path.Combine(Maildir, "cur")));
    }

    [Fact]
    public async Task Over_the_user_quota_append_and_copy_are_refused_and_move_is_not()
    {
        var store = Store();
        await store.CreateFolderAsync(_owner, "Archive");
        using var box = await store.OpenAsync(_owner);
        await box.AppendAsync(Message("one", 400), MessageFlags.None, DateTimeOffset.UnixEpoch);
        _m.Store.UpdateUser(_m.Store.FindUser("joe", "hosted.test")! with { Quota = new Quota(1000, 0) });
        var roots = await store.QuotaAsync(_owner);
        var root = Assert.Single(roots);
        Assert.Equal(AccountOwnerQuotas.UserRoot, root.Name);
        Assert.Equal(new Quota(1000, 0), root.Limit);
        Assert.Equal(new Quota(415, 1), root.Usage);

        await box.AppendAsync(Message("two", 400), MessageFlags.None, DateTimeOffset.UnixEpoch); // 830 of 1000
        await Assert.ThrowsAsync<MailboxOverQuotaException>(() => box.AppendAsync(Message("three", 400), MessageFlags.None, DateTimeOffset.UnixEpoch));
        Assert.Empty(Directory.GetFiles(Path.Combine(Maildir, "tmp")));
        await Assert.ThrowsAsync<MailboxOverQuotaException>(() => box.CopyAsync([1u, 2u], "Archive"));
        using (var archive = await store.OpenAsync(_owner, "Archive"))
            Assert.Empty(archive.Entries); // all or nothing
        Assert.Equal([(1u, 1u), (2u, 2u)], (await box.MoveAsync([1u, 2u], "Archive")).Uids);
        Assert.Equal(new Quota(830, 2), Assert.Single(await store.QuotaAsync(_owner)).Usage);

        // Messages count too, and the domain's quota is a second root.
        _m.Store.UpdateUser(_m.Store.FindUser("joe", "hosted.test")! with { Quota = new Quota(0, 2) });
        var domain = _m.Store.FindDomain("hosted.test")!;
        _m.Store.SetLimits(domain.Id, domain.Limits with { DomainQuota = new Quota(100_000, 0) });
        using var archive2 = await store.OpenAsync(_owner, "Archive");
        await Assert.ThrowsAsync<MailboxOverQuotaException>(() => archive2.CopyAsync([1u], "Archive"));
        Assert.Equal([AccountOwnerQuotas.UserRoot, AccountOwnerQuotas.DomainRoot], (await store.QuotaAsync(_owner)).Select(r => r.Name));
        Assert.Equal(1, await archive2.ExpungeAsync([1u]));
        Assert.Equal(new Quota(415, 1), (await store.QuotaAsync(_owner))[0].Usage); // maildirsize follows the expunge
        Assert.Equal(2u, (await archive2.CopyAsync([2u], "Archive")).Uids[0].Source);
    }

    [Fact]
    public async Task Crash_an_appended_file_without_a_uid_or_a_moved_file_without_its_x_line_is_found_by_the_next_sync()
    {
        var store = Store();
        await store.CreateFolderAsync(_owner, "Archive");
        using var box = await store.OpenAsync(_owner);
        await box.AppendAsync(Message("kept"), MessageFlags.Seen, DateTimeOffset.UnixEpoch);
        await box.SyncAsync(); // the session reports it
        var before = box.HighestModSeq;
        // A MOVE killed after its rename: the file is in the target, no UID there, no X line here.
        var name = Path.GetFileName(Directory.GetFiles(Path.Combine(Maildir, "cur")).Single());
        File.Move(Path.Combine(Maildir, "cur", name), Path.Combine(Maildir, ".Archive", "cur", name));
        // An APPEND killed after its link into cur/, before the UID list's rewrite.
        await File.WriteAllTextAsync(Path.Combine(Maildir, "cur", "1750000000.Adeadbeefdeadbeef.mail.test,S=9,W=11:2,F"), "Subject:\n\n");
        // And a torn tmp file of another APPEND, never shown.
        await File.WriteAllTextAsync(Path.Combine(Maildir, "tmp", "1750000001.A0000000000000000.mail.test"), "Subj");
        var changes = await box.SyncAsync();
        Assert.Equal([1u], changes.Expunged);
        Assert.Equal(MessageFlags.Flagged, Assert.Single(changes.Added).Flags);
        Assert.Equal([new UidRange(1, 1)], box.ExpungedSince(before));
        using var archive = await store.OpenAsync(_owner, "Archive");
        Assert.Equal(MessageFlags.Seen, Assert.Single(archive.Entries).Flags);
    }
}
