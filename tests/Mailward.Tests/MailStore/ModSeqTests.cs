// Mod-sequences (docs/mail-store.md "Mod-sequences"; RFC 7162): set at arrival, raised by every
// flag change (also one made by another program), STORE with UNCHANGEDSINCE across sessions,
// VANISHED history and its forgotten mark, and one test per row of the crash table, plus a run of
// random operations and crashes in which no UID is reused and no mod-sequence goes backwards.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class ModSeqTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly MailStoreLayout _layout;
    private readonly MailboxOwner _owner = new("joe@hosted.test", "hosted.test/joe");
    private readonly ManualTimeProvider _time = new(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000));

    public ModSeqTests() => _layout = new MailStoreLayout(_dir.Path, 100);

    public void Dispose() => _dir.Dispose();

    private string Maildir => MailStoreLayout.MaildirOf(_layout.Resolve(_owner.Directory));

    private string LogFile => Path.Combine(Maildir, ModSeqLog.FileName);

    private string Cur => Path.Combine(Maildir, "cur");

    private MaildirStore Store(int history = 100_000) =>
        new(_layout, "node-a", "mail.test", _time, options: new MaildirStoreOptions { ExpungeHistory = history });

    private void Deliver(int n)
    {
        using var body = new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {n}\r\n\r\nbody {n}\r\n"));
        MaildirWriter.Deliver(Maildir, $"{1_700_000_000 + n}.M{n:D4}", "mail.test", "s@remote.test", "joe@hosted.test", body);
    }

    private Task<IMailbox> OpenAsync() => Store().OpenAsync(_owner);

    private static FlagChange Add(MessageFlags f, params string[] keywords) => new(FlagChangeMode.Add, f, keywords);

    private string FileOf(uint uid, IMailbox box) =>
        Directory.GetFiles(Cur).Single(f => Path.GetFileName(f).StartsWith(box.Entries.Single(e => e.Uid == uid).Pop3Uidl + ":", StringComparison.Ordinal));

    [Fact]
    public async Task Arrival_sets_a_modseq_and_every_flag_change_raises_it()
    {
        Deliver(1);
        Deliver(2);
        using var box = await OpenAsync();
        var arrival = box.HighestModSeq;
        Assert.True(arrival > 0);
        Assert.All(box.Entries, e => Assert.Equal(arrival, e.ModSeq));

        var r = await box.StoreAsync([1u], Add(MessageFlags.Seen, "$Work"));
        var changed = Assert.Single(r.Changed);
        Assert.True(changed.ModSeq > arrival);
        Assert.Equal(MessageFlags.Seen, changed.Flags);
        Assert.Equal(["$Work"], changed.Keywords);
        Assert.Equal(arrival, box.Entries[1].ModSeq); // the other message is untouched

        // Asking for flags it already has changes nothing and raises nothing.
        var again = await box.StoreAsync([1u], Add(MessageFlags.Seen));
        Assert.Empty(again.Changed);
        Assert.Equal(changed.ModSeq, Assert.Single(again.Unchanged).ModSeq);

        using var reopened = await OpenAsync();
        Assert.Equal(changed.ModSeq, reopened.HighestModSeq);
        Assert.Equal([changed.ModSeq, arrival], reopened.Entries.Select(e => e.ModSeq));
        Deliver(3);
        var news = await reopened.SyncAsync();
        Assert.True(Assert.Single(news.Added).ModSeq > changed.ModSeq);
    }

    [Fact]
    public async Task Unchangedsince_leaves_messages_changed_since_and_changes_the_rest()
    {
        Deliver(1);
        Deliver(2);
        Deliver(3);
        using var a = await OpenAsync();
        using var b = await OpenAsync();
        var seen = b.HighestModSeq;
        await a.StoreAsync([2u], Add(MessageFlags.Flagged));

        // b has not synced: its STORE (UNCHANGEDSINCE what it saw) must fail for 2 only, atomically.
        var r = await b.StoreAsync([1u, 2u, 3u], Add(MessageFlags.Deleted), seen);
        Assert.Equal([2u], r.Modified);
        Assert.Equal([1u, 3u], r.Changed.Select(e => e.Uid));
        using var c = await OpenAsync();
        Assert.Equal([MessageFlags.Deleted, MessageFlags.Flagged, MessageFlags.Deleted], c.Entries.Select(e => e.Flags));

        // RFC 7162 §3.1.3: UNCHANGEDSINCE 0 fails for every message (mod-sequences start at 1).
        var zero = await c.StoreAsync([1u, 2u, 3u], Add(MessageFlags.Seen), 0);
        Assert.Equal([1u, 2u, 3u], zero.Modified);
        Assert.Empty(zero.Changed);
    }

    [Fact]
    public async Task Two_sessions_adding_flags_never_undo_each_other()
    {
        Deliver(1);
        using var a = await OpenAsync();
        using var b = await OpenAsync();
        await a.StoreAsync([1u], Add(MessageFlags.Seen));
        var r = await b.StoreAsync([1u], Add(MessageFlags.Flagged)); // b's view still has no \Seen
        Assert.Equal(MessageFlags.Seen | MessageFlags.Flagged, Assert.Single(r.Changed).Flags);
        var changes = await a.SyncAsync();
        Assert.Equal(MessageFlags.Seen | MessageFlags.Flagged, Assert.Single(changes.FlagsChanged).Flags);
        await a.StoreAsync([1u], new FlagChange(FlagChangeMode.Remove, MessageFlags.Seen, []));
        using var c = await OpenAsync();
        Assert.Equal(MessageFlags.Flagged, c.Entries[0].Flags);
    }

    [Fact]
    public async Task Vanished_lists_the_uids_expunged_since_a_modseq_also_by_another_session()
    {
        for (var i = 1; i <= 5; i++)
            Deliver(i);
        using var a = await OpenAsync();
        var m0 = a.HighestModSeq;
        Assert.Equal(1, await a.ExpungeAsync([2u]));
        using var b = await OpenAsync();
        var m1 = b.HighestModSeq;
        Assert.True(m1 > m0);
        Assert.Equal(2, await b.ExpungeAsync([4u, 5u, 9u]));
        var changes = await a.SyncAsync();
        Assert.Equal([4u, 5u], changes.Expunged.Order());
        Assert.Equal([new UidRange(2, 2), new UidRange(4, 5)], a.ExpungedSince(m0));
        Assert.Equal([new UidRange(4, 5)], a.ExpungedSince(m1));
        Assert.Empty(a.ExpungedSince(a.HighestModSeq));
    }

    [Fact]
    public async Task An_expunge_from_a_session_whose_view_is_stale_removes_the_file_another_session_renamed()
    {
        Deliver(1);
        using var a = await OpenAsync();
        using var b = await OpenAsync();
        await b.StoreAsync([1u], Add(MessageFlags.Deleted)); // renames the file under a's view
        Assert.Equal(1, await a.ExpungeAsync([1u]));
        Assert.Empty(Directory.GetFiles(Cur)); // before mod-sequences: the stale name was "deleted", the file stayed
    }

    [Fact]
    public async Task Past_the_remembered_history_every_missing_uid_is_reported()
    {
        for (var i = 1; i <= 8; i++)
            Deliver(i);
        var store = Store(history: 2);
        using var box = await store.OpenAsync(_owner);
        var m0 = box.HighestModSeq;
        await box.ExpungeAsync([2u, 3u]);
        var m1 = box.HighestModSeq;
        await box.ExpungeAsync([6u]);
        await box.ExpungeAsync([7u]);
        var log = new ModSeqLog(Maildir);
        Assert.Equal(ModSeqLog.ReadOutcome.Ok, log.CatchUp());
        log.Compact(2); // keeps 6 and 7 (two UIDs); 2 and 3 are forgotten
        using var again = await store.OpenAsync(_owner);
        Assert.Equal([new UidRange(6, 7)], again.ExpungedSince(m1));
        // Older than the history: every UID below UIDNEXT that is not there.
        Assert.Equal([new UidRange(2, 3), new UidRange(6, 7)], again.ExpungedSince(m0));
        Assert.Equal([1u, 4u, 5u, 8u], again.Entries.Select(e => e.Uid));
        Assert.Equal(log.Highest, again.HighestModSeq);
    }

    [Fact]
    public async Task A_flag_change_made_by_another_program_gets_a_new_modseq_at_sync()
    {
        Deliver(1);
        using var box = await OpenAsync();
        var before = box.HighestModSeq;
        var file = FileOf(1, box);
        File.Move(file, file + "S"); // Courier or a script marks it seen
        var changes = await box.SyncAsync();
        var e = Assert.Single(changes.FlagsChanged);
        Assert.Equal(MessageFlags.Seen, e.Flags);
        Assert.True(e.ModSeq > before);
        Assert.Equal(e.ModSeq, box.HighestModSeq);
    }

    [Fact]
    public async Task Crash_a_torn_last_line_is_ignored_and_cut_by_the_next_writer()
    {
        Deliver(1);
        Deliver(2);
        using var box = await OpenAsync();
        var shown = box.HighestModSeq;
        await File.AppendAllTextAsync(LogFile, $"M 1 {shown + 1} S zzzz"); // killed mid-write: no end, no valid CRC
        using var reopened = await OpenAsync();
        Assert.Equal(shown, reopened.HighestModSeq);
        Assert.Equal(MessageFlags.None, reopened.Entries[0].Flags);
        var r = await reopened.StoreAsync([2u], Add(MessageFlags.Answered));
        Assert.Equal(shown + 1, Assert.Single(r.Changed).ModSeq); // the torn line's number was never shown
        var text = await File.ReadAllTextAsync(LogFile);
        Assert.DoesNotContain("zzzz", text);
        Assert.EndsWith("\n", text);
        using var third = await OpenAsync(); // a fresh reader sees the line appended after the cut
        Assert.Equal(MessageFlags.Answered, third.Entries[1].Flags);
        Assert.Equal(shown + 1, third.HighestModSeq);
    }

    [Fact]
    public async Task Crash_between_the_write_ahead_lines_and_the_renames_gives_a_new_modseq()
    {
        Deliver(1);
        using var box = await OpenAsync();
        var log = new ModSeqLog(Maildir);
        Assert.Equal(ModSeqLog.ReadOutcome.Ok, log.CatchUp());
        var lost = log.Highest + 1;
        log.Append([ModSeqLog.MessageLine(1, lost, "S")]); // the STORE's line, fsynced; the process died before the rename
        using var reopened = await OpenAsync();
        var e = reopened.Entries[0];
        Assert.Equal(MessageFlags.None, e.Flags); // the file is the truth
        Assert.True(e.ModSeq > lost); // and a client that might have seen `lost` learns of it
        Assert.Equal(e.ModSeq, reopened.HighestModSeq);
    }

    [Fact]
    public async Task Crash_after_unlinks_before_the_x_line_records_the_expunge_at_sync()
    {
        Deliver(1);
        Deliver(2);
        using var box = await OpenAsync();
        var before = box.HighestModSeq;
        File.Delete(FileOf(1, box)); // an EXPUNGE killed after its unlink, or POP3 of another program
        using var reopened = await OpenAsync();
        Assert.Equal([2u], reopened.Entries.Select(e => e.Uid));
        Assert.True(reopened.HighestModSeq > before);
        Assert.Equal([new UidRange(1, 1)], reopened.ExpungedSince(before));
        var changes = await box.SyncAsync();
        Assert.Equal([1u], changes.Expunged);
    }

    [Fact]
    public async Task Crash_after_the_uid_list_before_the_arrival_line_gives_the_message_a_modseq()
    {
        Deliver(1);
        using (var box = await OpenAsync())
        {
        }
        var highest = new ModSeqLog(Maildir);
        highest.CatchUp();
        Deliver(2);
        // The UID list got its line, the process died before the log's append.
        var (list, _) = UidList.Read(Maildir);
        var key = Path.GetFileName(Directory.GetFiles(Path.Combine(Maildir, "new")).Single());
        Directory.GetFiles(Path.Combine(Maildir, "new")).ToList().ForEach(f => File.Move(f, Path.Combine(Cur, Path.GetFileName(f) + ":2,")));
        list!.Assign(key, null);
        list.Write(Maildir);
        using var reopened = await OpenAsync();
        Assert.Equal([1u, 2u], reopened.Entries.Select(e => e.Uid));
        Assert.True(reopened.Entries[1].ModSeq > highest.Highest);
    }

    [Fact]
    public async Task Crash_a_missing_log_starts_above_anything_shown_and_forgets_the_history()
    {
        Deliver(1);
        Deliver(2);
        using var box = await OpenAsync();
        await box.ExpungeAsync([1u]);
        for (var i = 0; i < 5; i++)
            await box.StoreAsync([2u], new FlagChange(FlagChangeMode.Replace, i % 2 == 0 ? MessageFlags.Seen : MessageFlags.None, []));
        var shown = box.HighestModSeq;
        File.Delete(LogFile);
        File.WriteAllText(LogFile + ".tmp", "MWMODSEQ 1 G9 V1 B99999999999999 F0 "); // a compaction's torn tmp: never read
        using var reopened = await OpenAsync();
        Assert.True(reopened.HighestModSeq > shown);
        Assert.True(reopened.Entries[0].ModSeq > shown);
        Assert.Equal([new UidRange(1, 1)], reopened.ExpungedSince(shown)); // all missing UIDs: the history is gone
    }

    [Fact]
    public async Task Crash_a_new_uidvalidity_restarts_the_log_above_the_old_highest()
    {
        Deliver(1);
        using var box = await OpenAsync();
        await box.StoreAsync([1u], Add(MessageFlags.Seen));
        var shown = box.HighestModSeq;
        File.Delete(Path.Combine(Maildir, UidList.FileName));
        _time.Advance(TimeSpan.FromSeconds(5));
        using var reopened = await OpenAsync();
        Assert.NotEqual(box.UidValidity, reopened.UidValidity);
        Assert.True(reopened.HighestModSeq > shown);
        Assert.StartsWith($"MWMODSEQ 1 G1 V{reopened.UidValidity} B{shown} ", await File.ReadAllTextAsync(LogFile));
    }

    [Fact]
    public async Task Damage_in_the_middle_renumbers_every_message_and_forgets_the_history()
    {
        for (var i = 1; i <= 3; i++)
            Deliver(i);
        using var box = await OpenAsync();
        await box.StoreAsync([1u], Add(MessageFlags.Seen));
        await box.ExpungeAsync([3u]);
        await box.StoreAsync([2u], Add(MessageFlags.Seen));
        var shown = box.HighestModSeq;
        var lines = (await File.ReadAllTextAsync(LogFile)).Split('\n');
        var damaged = lines.Select(l => l.StartsWith("X ", StringComparison.Ordinal) ? l.Replace("X ", "X  ", StringComparison.Ordinal) : l);
        await File.WriteAllTextAsync(LogFile, string.Join('\n', damaged));
        using var reopened = await OpenAsync();
        Assert.All(reopened.Entries, e => Assert.True(e.ModSeq > shown));
        Assert.Equal([new UidRange(3, 3)], reopened.ExpungedSince(shown - 1));
        Assert.DoesNotContain("X  ", await File.ReadAllTextAsync(LogFile)); // compacted
    }

    [Fact]
    public async Task A_garbled_header_is_set_aside_and_a_new_log_starts_above_anything_shown()
    {
        Deliver(1);
        using var box = await OpenAsync();
        var shown = box.HighestModSeq;
        await File.WriteAllTextAsync(LogFile, "not a log\n");
        using var reopened = await OpenAsync();
        Assert.True(reopened.HighestModSeq > shown);
        Assert.Equal("not a log\n", await File.ReadAllTextAsync(LogFile + ".garbled"));
    }

    [Fact]
    public async Task Random_operations_and_crashes_never_reuse_a_uid_nor_take_a_modseq_back()
    {
        // Each round runs a few operations, then "crashes" in one of the table's ways and opens the
        // folder afresh. A client that saw (UID, flags, modseq) must, after any change, see a higher
        // modseq; a UID never names another message; HIGHESTMODSEQ never goes down.
        var random = new Random(1207);
        var next = 1;
        var keyOfUid = new Dictionary<uint, string>();
        var seen = new Dictionary<uint, (ulong ModSeq, MessageFlags Flags)>();
        ulong highest = 0;
        for (var round = 0; round < 40; round++)
        {
            using var box = await OpenAsync();
            Check(box);
            for (var op = 0; op < 4; op++)
            {
                var uids = box.Entries.Select(e => e.Uid).ToList();
                switch (random.Next(5))
                {
                    case 0:
                        Deliver(next++);
                        await box.SyncAsync();
                        break;
                    case 1 when uids.Count > 0:
                        await box.StoreAsync([uids[random.Next(uids.Count)]], new FlagChange((FlagChangeMode)random.Next(3), (MessageFlags)random.Next(32), []));
                        break;
                    case 2 when uids.Count > 3:
                        await box.ExpungeAsync([uids[random.Next(uids.Count)]]);
                        break;
                    case 3 when uids.Count > 0:
                        var f = FileOf(uids[random.Next(uids.Count)], box);
                        File.Move(f, f.EndsWith('F') ? f[..^1] : f + "F"); // Courier flags it
                        await box.SyncAsync();
                        break;
                    default:
                        Deliver(next++);
                        break;
                }
                Check(box);
            }
            switch (random.Next(4))
            {
                case 0: // killed mid-append
                    await File.AppendAllTextAsync(LogFile, "M 1 99999999 S 1234");
                    break;
                case 1 when box.Entries.Count > 0: // killed after a STORE's write-ahead line
                    var log = new ModSeqLog(Maildir);
                    log.CatchUp();
                    log.Append([ModSeqLog.MessageLine(box.Entries[0].Uid, log.Highest + 1, "DRT")]);
                    break;
                case 2 when box.Entries.Count > 2: // killed after an unlink
                    File.Delete(FileOf(box.Entries[^1].Uid, box));
                    break;
            }
        }
        Assert.True(highest > 0);

        void Check(IMailbox box)
        {
            Assert.True(box.HighestModSeq >= highest, $"HIGHESTMODSEQ went from {highest} to {box.HighestModSeq}");
            highest = box.HighestModSeq;
            foreach (var e in box.Entries)
            {
                Assert.True(e.ModSeq <= box.HighestModSeq);
                if (keyOfUid.TryGetValue(e.Uid, out var key))
                    Assert.Equal(key, e.Pop3Uidl); // never another message under one UID
                keyOfUid[e.Uid] = e.Pop3Uidl;
                if (seen.TryGetValue(e.Uid, out var before) && before.Flags != e.Flags)
                    Assert.True(e.ModSeq > before.ModSeq, $"UID {e.Uid} changed flags without a higher modseq");
                Assert.True(!seen.TryGetValue(e.Uid, out var b2) || e.ModSeq >= b2.ModSeq);
                seen[e.Uid] = (e.ModSeq, e.Flags);
            }
        }
    }
    [Fact]
    public void Lines_written_as_bytes_are_the_lines_MessageLine_makes()
    {
        var lines = new ModSeqLog.Lines();
        var expected = new StringBuilder();
        foreach (var (uid, seq, flags) in new[] { (1u, 1UL, "-"), (4_000_000_000u, 1_800_000_000_123UL, "DFRST"), (7u, 9UL, "Sab"), (8u, (ulong)long.MaxValue, "?") })
        {
            lines.Message(uid, seq, flags);
            expected.Append(ModSeqLog.MessageLine(uid, seq, flags));
        }
        foreach (var line in ModSeqLog.ExpungeLines(10, [3u, 5u, 6u]))
        {
            lines.Add(line);
            expected.Append(line);
        }
        Assert.Equal(5, lines.Count);
        Assert.Equal(expected.ToString(), Encoding.ASCII.GetString(lines.Bytes));
    }
}
