// The read-ahead of a FETCH's files (StructureReadAhead): what it hands over is the file's bytes,
// it stays within its window, skips what the cache holds and what is too large, lets go of what the
// session passed over or no longer wants, and a mailbox's structures are the same with it as without.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.Imap;

public sealed class StructureReadAheadTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private int _opens;

    public void Dispose() => _dir.Dispose();

    /// <summary>Files 1..count in a folder, each with its own text; the items name them in order.</summary>
    private StructureReadAhead.Item[] Files(int count, int bigEvery = 0)
    {
        var items = new StructureReadAhead.Item[count];
        for (var i = 1; i <= count; i++)
        {
            var text = bigEvery > 0 && i % bigEvery == 0
                ? "Subject: big\n\n" + new string('x', StructureReadAhead.MaxFileBytes + 1)
                : $"Subject: message {i}\n\nbody {i}\n";
            var name = $"{1_700_000_000 + i}.M{i}P1.host,S={text.Length}:2,";
            File.WriteAllText(Path.Combine(_dir.Path, name), text);
            items[i - 1] = new((uint)i, name, text.Length);
        }
        return items;
    }

    private MessageReader? Open(string name, long size)
    {
        Interlocked.Increment(ref _opens);
        var path = Path.Combine(_dir.Path, name);
        return File.Exists(path) ? new MessageReader(File.OpenHandle(path), size) : null;
    }

    private StructureReadAhead Ahead(StructureReadAhead.Item[] items, HashSet<string>? cached = null) =>
        new(items, Open, key => cached?.Contains(key) == true);

    /// <summary>Waits until the reader has opened this many files and then stopped there (it stops by itself at its window).</summary>
    private async Task SettledAtAsync(int opens)
    {
        for (var i = 0; i < 1000 && Volatile.Read(ref _opens) < opens; i++)
            await Task.Delay(10);
        await Task.Delay(100); // and no further
        Assert.Equal(opens, Volatile.Read(ref _opens));
    }

    private static string Text(MessageReader reader)
    {
        var buffer = new byte[reader.Length];
        var n = 0;
        int read;
        while ((read = reader.Read(buffer.AsSpan(n))) > 0)
            n += read;
        return Encoding.ASCII.GetString(buffer, 0, n);
    }

    [Fact]
    public async Task The_files_are_read_within_the_window_and_handed_over_with_their_bytes()
    {
        var items = Files(200);
        using var ahead = Ahead(items);
        ahead.Start();
        await SettledAtAsync(StructureReadAhead.WindowMessages); // not one more than the window
        for (var i = 0; i < StructureReadAhead.WindowMessages / 2; i++)
        {
            using var reader = ahead.Take(items[i].Uid) ?? throw new Xunit.Sdk.XunitException($"message {i + 1} was not read ahead");
            Assert.Equal(File.ReadAllText(Path.Combine(_dir.Path, items[i].Name)), Text(reader));
        }
        // Half the window taken: the reader was woken and filled it again.
        await SettledAtAsync(StructureReadAhead.WindowMessages * 3 / 2);
    }

    [Fact]
    public async Task Big_files_fill_the_byte_window_before_the_message_window()
    {
        // 40 files of 100 KB: the 1 MiB window holds about ten of them, far fewer than 64.
        var items = new StructureReadAhead.Item[40];
        for (var i = 1; i <= items.Length; i++)
        {
            var text = $"Subject: {i}\n\n" + new string('x', 100_000);
            var name = $"{1_700_000_000 + i}.M{i}P1.host,S={text.Length}:2,";
            File.WriteAllText(Path.Combine(_dir.Path, name), text);
            items[i - 1] = new((uint)i, name, text.Length);
        }
        using var ahead = Ahead(items);
        ahead.Start();
        var settled = -1;
        for (var i = 0; i < 100 && settled != Volatile.Read(ref _opens); i++)
        {
            settled = Volatile.Read(ref _opens);
            await Task.Delay(100);
        }
        Assert.InRange(settled, 1, StructureReadAhead.WindowBytes / 100_000 + 1);
        using (var first = ahead.Take(1))
            Assert.NotNull(first);
    }

    [Fact]
    public async Task A_memory_reader_reads_at_offsets_as_a_file_reader_does()
    {
        var items = Files(40);
        using var ahead = Ahead(items);
        ahead.Start();
        await SettledAtAsync(40);
        using var reader = ahead.Take(1)!;
        var text = File.ReadAllText(Path.Combine(_dir.Path, items[0].Name));
        var part = new byte[7];
        Assert.Equal(7, reader.ReadAt(part, 9));
        Assert.Equal(text.Substring(9, 7), Encoding.ASCII.GetString(part));
        Assert.Equal(0, reader.ReadAt(part, text.Length));
        Assert.Equal(text.Length, reader.Length);
    }

    [Fact]
    public async Task Cached_and_large_messages_are_left_to_the_session()
    {
        var items = Files(60, bigEvery: 10);
        var cached = new HashSet<string>(StringComparer.Ordinal) { MaildirName.KeyOf(items[2].Name) };
        using var ahead = Ahead(items, cached);
        ahead.Start();
        await SettledAtAsync(60 - 6 - 1); // neither the six big files nor the cached one opened
        Assert.NotNull(ahead.Take(1));
        Assert.NotNull(ahead.Take(2));
        Assert.Null(ahead.Take(3)); // cached
        Assert.Null(ahead.Take(10)); // big: skipping to it let 4..9 go
        using var eleventh = ahead.Take(11);
        Assert.NotNull(eleventh);
    }

    [Fact]
    public async Task Messages_asked_out_of_order_or_gone_get_null_and_the_rest_still_comes()
    {
        var items = Files(100);
        File.Delete(Path.Combine(_dir.Path, items[1].Name)); // expunged before it was read
        using var ahead = Ahead(items);
        ahead.Start();
        await SettledAtAsync(StructureReadAhead.WindowMessages);
        Assert.Null(ahead.Take(999)); // not in the list
        using (var first = ahead.Take(1))
            Assert.NotNull(first);
        Assert.Null(ahead.Take(2)); // gone: the session finds it gone too
        Assert.Null(ahead.Take(1)); // behind: not asked in order
        using var fifth = ahead.Take(5) ?? throw new Xunit.Sdk.XunitException("message 5 was not read ahead");
        Assert.Contains("message 5", Text(fifth), StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_dispose_nothing_is_handed_over_and_reading_stops()
    {
        var items = Files(200);
        var ahead = Ahead(items);
        ahead.Start();
        await SettledAtAsync(StructureReadAhead.WindowMessages);
        ahead.Dispose();
        Assert.Null(ahead.Take(1));
        await SettledAtAsync(StructureReadAhead.WindowMessages);
    }

    [Fact]
    public async Task A_reader_that_fails_in_an_unforeseen_way_stops_without_taking_the_process_down()
    {
        var items = Files(100);
        var calls = 0;
        using var ahead = new StructureReadAhead(items, (name, size) =>
        {
            if (Interlocked.Increment(ref calls) == 3)
                throw new InvalidOperationException("unforeseen");
            return Open(name, size);
        }, _ => false);
        ahead.Start();
        for (var i = 0; i < 200 && Volatile.Read(ref calls) < 3; i++)
            await Task.Delay(10);
        await Task.Delay(100);
        Assert.Equal(3, Volatile.Read(ref calls)); // stopped at the failure
        Assert.Null(ahead.Take(1)); // and hands nothing over: the session reads for itself
    }

    [Fact]
    public async Task A_mailbox_gives_the_same_structures_with_read_ahead_as_without()
    {
        var layout = new MailStoreLayout(Path.Combine(_dir.Path, "store"), 100);
        var owner = new MailboxOwner("joe@hosted.test", "hosted.test/joe");
        var maildir = MailStoreLayout.MaildirOf(layout.Resolve(owner.Directory));
        for (var n = 1; n <= 120; n++)
        {
            var text = n % 3 == 0
                ? $"Subject: part {n}\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\nbody {n}\n--b\nContent-Type: text/html\n\n<p>{n}</p>\n--b--\n"
                : $"Subject: plain {n}\nFrom: \"Sender {n}\" <s{n}@remote.test>\n\nbody {n}\n";
            using var body = new MemoryStream(Encoding.ASCII.GetBytes(text));
            MaildirWriter.Deliver(maildir, $"{1_700_000_000 + n}.M{n:D4}", "mail.test", "s@remote.test", "joe@hosted.test", body);
        }
        var plain = new List<byte[]>();
        using (var box = await new MaildirStore(layout, "node-a", "mail.test").OpenAsync(owner))
            foreach (var e in box.Entries)
                plain.Add(StructureCodec.Encode("k", (await box.StructureAsync(e.Uid))!));
        File.Delete(Path.Combine(maildir, StructureCache.FileName)); // parsed again below, from the files read ahead
        using (var box = await new MaildirStore(layout, "node-a", "mail.test").OpenAsync(owner))
        {
            var uids = box.Entries.Select(e => e.Uid).ToList();
            using var ahead = box.ReadAhead(uids);
            Assert.NotNull(ahead);
            var i = 0;
            foreach (var uid in uids)
                Assert.Equal(plain[i++], StructureCodec.Encode("k", (await box.StructureAsync(uid))!));
            Assert.Equal(120, i);
        }
    }
}
