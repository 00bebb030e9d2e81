// The UID list (docs/mail-store.md "The UID list"): UIDs survive reopening, new mail gets the next
// ones, and each crash state recovers as the table says: a torn or complete tmp file is ignored, a
// missing or garbled list gives a new UIDVALIDITY and never a UID reused under the old one.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class UidListTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly MailStoreLayout _layout;
    private readonly MailboxOwner _owner = new("joe@hosted.test", "hosted.test/joe");
    private readonly ManualTimeProvider _time = new(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));

    public UidListTests() => _layout = new MailStoreLayout(_dir.Path, 100);

    public void Dispose() => _dir.Dispose();

    private string Maildir => MailStoreLayout.MaildirOf(_layout.Resolve(_owner.Directory));

    private MaildirStore Store() => new(_layout, "node-a", "mail.test", _time);

    private void Deliver(int n)
    {
        using var body = new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {n}\r\n\r\nbody {n}\r\n"));
        MaildirWriter.Deliver(Maildir, $"{1_700_000_000 + n}.M{n:D4}", "mail.test", "s@remote.test", "joe@hosted.test", body);
    }

    private async Task<IMailbox> OpenAsync() => await Store().OpenAsync(_owner);

    private string ListFile => Path.Combine(Maildir, UidList.FileName);

    [Fact]
    public async Task Uids_are_kept_across_opens_and_new_mail_gets_the_next_ones()
    {
        Deliver(1);
        Deliver(2);
        using var first = await OpenAsync();
        Assert.Equal([1u, 2u], first.Entries.Select(e => e.Uid));
        Assert.Equal(3u, first.UidNext);
        var written = await File.ReadAllTextAsync(ListFile);
        Assert.StartsWith($"MWUIDLIST 1 V{first.UidValidity} N3 C2\n", written);

        Deliver(3);
        var changes = await first.SyncAsync();
        Assert.Equal([3u], changes.Added.Select(e => e.Uid));
        Assert.Equal(1, await first.ExpungeAsync([1u]));
        using var second = await OpenAsync();
        Assert.Equal(first.UidValidity, second.UidValidity);
        Assert.Equal([2u, 3u], second.Entries.Select(e => e.Uid));
        Deliver(4);
        Assert.Equal([4u], (await second.SyncAsync()).Added.Select(e => e.Uid)); // 1 is never given again
    }

    [Fact]
    public async Task A_torn_or_unrenamed_tmp_file_is_ignored_and_no_uid_it_held_is_taken_for_granted()
    {
        Deliver(1);
        uint validity;
        using (var box = await OpenAsync())
            validity = box.UidValidity;
        var before = await File.ReadAllBytesAsync(ListFile);
        Deliver(2);
        // Crash during step 1: half a list in tmp.
        await File.WriteAllTextAsync(ListFile + ".tmp", "MWUIDLIST 1 V1 N9 C3\n7 :x\n");
        using (var box = await OpenAsync())
        {
            Assert.Equal(validity, box.UidValidity);
            Assert.Equal([1u, 2u], box.Entries.Select(e => e.Uid));
        }
        // Crash after step 1, before the rename: a complete tmp with other numbers; the old list is the truth.
        var complete = UidList.Parse(await File.ReadAllBytesAsync(ListFile))!;
        complete.Assign("elsewhere", null);
        await File.WriteAllBytesAsync(ListFile + ".tmp", complete.Render());
        await File.WriteAllBytesAsync(ListFile, before); // the list as it was before 2 got its UID
        Deliver(3);
        using (var box = await OpenAsync())
        {
            Assert.Equal(validity, box.UidValidity);
            // The UIDs shown before (1) hold; 2 and 3 are numbered after the old UIDNEXT, as never shown before.
            Assert.Equal([1u, 2u, 3u], box.Entries.Select(e => e.Uid));
        }
    }

    [Fact]
    public async Task A_missing_list_gives_a_new_uidvalidity()
    {
        Deliver(1);
        uint first;
        using (var box = await OpenAsync())
            first = box.UidValidity;
        File.Delete(ListFile);
        _time.Advance(TimeSpan.FromSeconds(5));
        using var again = await OpenAsync();
        Assert.NotEqual(first, again.UidValidity);
        Assert.True(again.UidValidity > first);
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("bad-crc")]
    [InlineData("out-of-order")]
    [InlineData("not-a-list")]
    public async Task A_garbled_list_is_kept_aside_and_replaced_under_a_new_uidvalidity(string damage)
    {
        Deliver(1);
        Deliver(2);
        uint first;
        using (var box = await OpenAsync())
            first = box.UidValidity;
        var text = await File.ReadAllTextAsync(ListFile);
        var garbled = damage switch
        {
            "truncated" => text[..(text.Length - 6)],
            "bad-crc" => text.Replace(" :", "  :", StringComparison.Ordinal),
            "out-of-order" => RenderedWith(text, l => l.Replace("1 :", "9 :", StringComparison.Ordinal)),
            _ => "hello\n",
        };
        await File.WriteAllTextAsync(ListFile, garbled);
        using var box2 = await Store().OpenAsync(_owner); // the same second: the new UIDVALIDITY must still differ
        Assert.NotEqual(first, box2.UidValidity);
        Assert.Equal(garbled, await File.ReadAllTextAsync(ListFile + ".garbled"));
        Assert.Equal(2, box2.Entries.Count);
    }

    /// <summary>The list with a line changed and a correct CRC: damage the CRC cannot catch, only the order check.</summary>
    private static string RenderedWith(string text, Func<string, string> change)
    {
        var lines = text.Split('\n').ToList();
        var body = string.Join('\n', lines.Take(lines.Count - 2).Select((l, i) => i == 0 ? l : change(l))) + "\n";
        return body + $"END {System.IO.Hashing.Crc32.HashToUInt32(Encoding.UTF8.GetBytes(body)):x8}\n";
    }

    [Fact]
    public async Task A_pre_existing_qmail_or_courier_file_keeps_its_uidl_and_gets_sizes_without_w()
    {
        Directory.CreateDirectory(Path.Combine(Maildir, "cur"));
        Directory.CreateDirectory(Path.Combine(Maildir, "new"));
        Directory.CreateDirectory(Path.Combine(Maildir, "tmp"));
        await File.WriteAllTextAsync(Path.Combine(Maildir, "new", "1062009583.25893.oldhost"), "Subject: q\n\nqmail\n");
        await File.WriteAllTextAsync(Path.Combine(Maildir, "cur", "1062009584.M1234P5678V0000000000000801I00001234.oldhost,S=20:2,S"), "Subject: c\n\ncourier\n");
        using var box = await OpenAsync();
        Assert.Equal(["1062009583.25893.oldhost", "1062009584.M1234P5678V0000000000000801I00001234.oldhost,S=20"], box.Entries.Select(e => e.Pop3Uidl));
        Assert.Null(box.Entries[0].VirtualSize); // the listing read no file: counted when first asked for
        Assert.DoesNotContain(" W", await File.ReadAllTextAsync(ListFile));
        Assert.Equal(18 + 3, box.VirtualSizeOf(box.Entries[0])); // counted: 18 bytes, 3 line ends
        Assert.Equal(20 + 3, box.VirtualSizeOf(box.Entries[1])); // S=20 is the file; W is counted
        Assert.Equal(MessageFlags.Seen, box.Entries[1].Flags);
        // The next rewrite (new mail) keeps the counted size, so another process never counts it again.
        await File.WriteAllTextAsync(Path.Combine(Maildir, "new", "1062009590.1.oldhost"), "Subject: n\n\nnew\n");
        await box.SyncAsync();
        Assert.Contains(" W21 :1062009583.25893.oldhost\n", await File.ReadAllTextAsync(ListFile));
        using var again = await OpenAsync();
        Assert.Equal(21, again.Entries[0].VirtualSize);
    }

    [Fact]
    public async Task Flags_keywords_append_copy_and_move()
    {
        Deliver(1);
        var store = Store();
        await store.CreateFolderAsync(_owner, "Archive");
        await store.CreateFolderAsync(_owner, "Archive/2026");
        Assert.Equal(["INBOX", "Archive", "Archive/2026"], await store.ListFoldersAsync(_owner));
        using var box = await store.OpenAsync(_owner);
        Assert.True(await box.StoreFlagsAsync(1, MessageFlags.Seen | MessageFlags.Flagged, ["$Junk"]));
        using (var again = await store.OpenAsync(_owner))
        {
            Assert.Equal(MessageFlags.Seen | MessageFlags.Flagged, again.Entries[0].Flags);
            Assert.Equal(["$Junk"], again.Entries[0].Keywords);
            Assert.Equal(box.Entries[0].Pop3Uidl, again.Entries[0].Pop3Uidl);
        }
        var copied = await box.CopyAsync(1, "Archive/2026");
        Assert.Equal(1u, copied);
        using var appended = new MemoryStream("Subject: a\r\n\r\nappended\r\n"u8.ToArray());
        Assert.Equal(2u, await box.AppendAsync(appended, MessageFlags.Seen, DateTimeOffset.FromUnixTimeSeconds(1_750_000_000)));
        Assert.Equal(2u, await box.MoveAsync(2, "Archive/2026"));
        using var archive = await store.OpenAsync(_owner, "Archive/2026");
        Assert.Equal([1u, 2u], archive.Entries.Select(e => e.Uid));
        Assert.Equal(MessageFlags.Seen, archive.Entries[1].Flags);
        Assert.Equal("appended\n", ReadAll(archive, 2).Split("\n\n")[1]);
        Assert.Equal([1u], (await store.OpenAsync(_owner)).Entries.Select(e => e.Uid));
        await store.SubscribeAsync(_owner, "Archive/2026", true);
        Assert.Equal(["Archive/2026"], await store.SubscriptionsAsync(_owner));
        await store.RenameFolderAsync(_owner, "Archive", "Old");
        Assert.Equal(["INBOX", "Old", "Old/2026"], await store.ListFoldersAsync(_owner));
        await Assert.ThrowsAsync<ArgumentException>(() => store.CreateFolderAsync(_owner, "../escape"));
    }

    private static string ReadAll(IMailbox box, uint uid)
    {
        using var r = box.OpenMessage(uid)!;
        var buffer = new byte[4096];
        var n = r.Read(buffer);
        return Encoding.UTF8.GetString(buffer, 0, n);
    }

    [Fact]
    public async Task Flags_changed_by_another_session_during_a_sync_never_make_a_message_look_expunged_or_renumbered()
    {
        // Another session renames files in cur/ (flag changes) while this one syncs, delivering as
        // it goes: readdir may miss a file renamed under it, which must not read as an expunge, nor
        // drop its line from the UID list and give it a new UID (an IMAP client would fetch it again).
        const int Messages = 1500; // more than one getdents(2) buffer: a listing takes several reads
        for (var i = 1; i <= Messages; i++)
            Deliver(i);
        using var box = await OpenAsync();
        var uids = box.Entries.ToDictionary(e => e.Pop3Uidl, e => e.Uid);
        var cur = Path.Combine(Maildir, "cur");
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var renamer = Task.Run(() =>
        {
            var renames = 0;
            while (!stop.IsCancellationRequested)
                foreach (var file in Directory.GetFiles(cur))
                {
                    var name = Path.GetFileName(file);
                    var flipped = name.EndsWith(":2,S", StringComparison.Ordinal) ? name[..^1] : name + "S";
                    try
                    {
                        File.Move(file, Path.Combine(cur, flipped));
                        renames++;
                    }
                    catch (FileNotFoundException)
                    {
                    }
                }
            return renames;
        });
        var syncs = 0;
        var next = Messages + 1;
        while (!stop.IsCancellationRequested)
        {
            if (syncs % 10 == 0)
                Deliver(next++); // new mail makes the sync rewrite the list, where a missed file would lose its line
            var changes = await box.SyncAsync();
            Assert.Empty(changes.Expunged);
            syncs++;
        }
        Assert.True(await renamer > 0);
        using var again = await OpenAsync();
        Assert.Equal(next - 1, again.Entries.Count);
        foreach (var e in again.Entries.Where(e => uids.ContainsKey(e.Pop3Uidl)))
            Assert.Equal(uids[e.Pop3Uidl], e.Uid);
    }
    [Fact]
    public async Task Two_files_with_one_key_share_one_uid_and_spend_no_other()
    {
        Deliver(1);
        using (await OpenAsync()) { } // moves it to cur/
        var cur = Path.Combine(Maildir, "cur");
        var name = Directory.GetFiles(cur).Single();
        File.Delete(ListFile);
        File.Copy(name, name.Split(':')[0] + ":2,S"); // a copy made by hand: the same key, other flags
        using var box = await OpenAsync();
        Assert.Single(box.Entries);
        Assert.Equal(2u, box.UidNext); // the second file took no UID of its own
        Assert.Equal(1u, UidList.Read(Maildir).List!.Entries.Single().Value.Uid);
    }

    // The parser reads the bytes in place; each line here carries a correct frame, so only the line rules decide.
    [Theory]
    [InlineData(1, "1 :k", true)]
    [InlineData(1, "1 W10 :k", true)]
    [InlineData(2, "1 W10 PXYZ :k", true)]
    [InlineData(2, "1 PXYZ :k", true)]
    [InlineData(1, "1 PXYZ :k", false)] // the P field is version 2's
    [InlineData(1, "1  :k", false)] // an empty field
    [InlineData(1, "1 W10  :k", false)]
    [InlineData(1, "1 W10 W11 :k", false)]
    [InlineData(1, "1 X :k", false)]
    [InlineData(2, "1 W10 PXYZ Q :k", false)]
    [InlineData(1, "0 :k", false)]
    [InlineData(1, "5 :k", false)] // not below NEXTUID
    [InlineData(1, "1 :", false)] // no key
    [InlineData(1, "x1 :k", false)]
    public void A_line_parses_only_as_the_format_says(int version, string line, bool valid)
    {
        var body = $"MWUIDLIST {version} V7 N5 C1\n{line}\n";
        var list = UidList.Parse(Framed(Encoding.UTF8.GetBytes(body)));
        Assert.Equal(valid, list is not null);
        if (list is not null)
        {
            Assert.Equal(1u, list.Entries["k"].Uid);
            Assert.Equal(line.Contains("W10", StringComparison.Ordinal) ? 10 : null, list.Entries["k"].VirtualSize);
            Assert.Equal(line.Contains("PXYZ", StringComparison.Ordinal) ? "XYZ" : null, list.Pop3Uidls.GetValueOrDefault("k"));
            Assert.Equal(body, Encoding.UTF8.GetString(list.Render()[..body.Length]).Replace("MWUIDLIST 1", $"MWUIDLIST {version}", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_list_with_a_line_too_many_or_bytes_that_are_not_utf8_does_not_parse()
    {
        Assert.NotNull(UidList.Parse(Framed("MWUIDLIST 1 V7 N5 C2\n1 :a\n2 :b\n"u8.ToArray())));
        Assert.Null(UidList.Parse(Framed("MWUIDLIST 1 V7 N5 C1\n1 :a\n2 :b\n"u8.ToArray())));
        Assert.Null(UidList.Parse(Framed([.. "MWUIDLIST 1 V7 N5 C1\n1 :a"u8, 0xff, (byte)'\n'])));
        var unicode = UidList.Parse(Framed("MWUIDLIST 1 V7 N5 C1\n1 :caf\u00e9\n"u8.ToArray()));
        Assert.Equal(1u, unicode!.Entries["caf\u00e9"].Uid);
    }

    [Fact]
    public async Task New_files_get_uids_by_arrival_time_then_by_name_whatever_order_the_directory_lists_them_in()
    {
        // Times out of order, three files of one second, a name without a time (counted as 0),
        // and counted sizes kept for names without ,W= (a listing takes them from the list by index).
        var cur = Path.Combine(Maildir, "cur");
        Directory.CreateDirectory(cur);
        Directory.CreateDirectory(Path.Combine(Maildir, "new"));
        Directory.CreateDirectory(Path.Combine(Maildir, "tmp"));
        string[] names = ["1700000300.c.host:2,", "1700000100.b.host:2,S", "1700000200.a.host:2,", "1700000100.c.host:2,", "legacy-name:2,", "1700000100.a.host:2,F"];
        foreach (var name in names)
            await File.WriteAllTextAsync(Path.Combine(cur, name), "Subject: x\n\nbody\n");
        using var box = await OpenAsync();
        Assert.Equal([1u, 2u, 3u, 4u, 5u, 6u], box.Entries.Select(e => e.Uid));
        var lines = (await File.ReadAllLinesAsync(ListFile))[1..^1];
        Assert.Equal(["1 :legacy-name", "2 :1700000100.a.host", "3 :1700000100.b.host", "4 :1700000100.c.host", "5 :1700000200.a.host", "6 :1700000300.c.host"], lines);
        Assert.All(box.Entries, e => Assert.Equal(20, box.VirtualSizeOf(e))); // "Subject: x\r\n\r\nbody\r\n"
        Deliver(1); // a rewrite of the list, which takes the counted sizes along
        await box.SyncAsync();
        Assert.Contains("1 W20 :legacy-name", await File.ReadAllLinesAsync(ListFile));
        Assert.All(box.Entries.Take(6), e => Assert.Equal(20, e.VirtualSize)); // the sync's own listing has them too
        using var again = await OpenAsync(); // the sizes counted above, now from the list
        Assert.All(again.Entries.Take(6), e => Assert.Equal(20, e.VirtualSize));
    }

    [Fact]
    public void A_list_renders_in_uid_order_whatever_order_its_entries_were_added_in()
    {
        var list = new UidList(7, 1);
        list.Assign("a", null);
        list.Assign("b", 12);
        list.Assign("c", null);
        list.Entries.Remove("a");
        list.Entries["a"] = (1, null); // added last, lowest UID
        var text = Encoding.UTF8.GetString(list.Render());
        Assert.StartsWith("MWUIDLIST 1 V7 N4 C3\n1 :a\n2 W12 :b\n3 :c\nEND ", text);
        Assert.Equal(["a", "b", "c"], UidList.Parse(list.Render())!.Entries.OrderBy(e => e.Value.Uid).Select(e => e.Key));
    }

    private static byte[] Framed(byte[] body) =>
        [.. body, .. Encoding.ASCII.GetBytes($"END {System.IO.Hashing.Crc32.HashToUInt32(body):x8}\n")];
}
