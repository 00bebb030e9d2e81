// The durable queue: round trips, group commit, and one test per crash state of
// docs/queue-format.md ("Start-up after a crash").
using System.Text;
using Mailward.Core.Queue;
using Mailward.Tests.Support;

namespace Mailward.Tests.Queue;

public sealed class QueueStoreTests : IDisposable
{
    private readonly TempFolder _tmp = new();
    private string Dir => _tmp.Combine("queue");

    public void Dispose() => _tmp.Dispose();

    private static QueueEnvelope Envelope(params string[] rcpts) =>
        new("sender@remote.test", rcpts.Length == 0 ? ["joe@example.com"] : rcpts, "192.0.2.1", "client.test", "ESMTP");

    private static byte[] Body(int size, byte seed = 0) =>
        Enumerable.Range(0, size).Select(i => (byte)(i % 251 + seed)).ToArray();

    private static async Task<string> Commit(QueueStore q, byte[] body, QueueEnvelope? envelope = null)
    {
        await using var tx = q.Begin(envelope ?? Envelope());
        // Write in pieces, as DATA arrives.
        for (var i = 0; i < body.Length; i += 1000)
            await tx.WriteAsync(body.AsMemory(i, Math.Min(1000, body.Length - i)));
        return await tx.CommitAsync();
    }

    private static byte[] ReadBody(QueuedMessage m)
    {
        using var s = QueueStore.OpenBody(m);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    [Fact]
    public async Task Inline_and_file_bodies_survive_a_reopen_byte_for_byte()
    {
        var small = Body(2048);
        var large = Body(300_000, 7); // over the 64 KiB inline limit: a body file
        var eight = Encoding.UTF8.GetBytes("Subject: caf\u00e9\r\n\r\n\u00fcml\u00e4ut \u00ff\r\n");
        string a, b, c;
        await using (var q = QueueStore.Open(Dir))
        {
            a = await Commit(q, small, Envelope("a@example.com", "b@example.com"));
            b = await Commit(q, large);
            c = await Commit(q, eight, new QueueEnvelope("", ["postmaster@example.com"], "::1", "h", "ESMTPS", "joe@example.com"));
            Assert.Equal(3, q.Messages.Count);
        }
        Assert.True(File.Exists(Path.Combine(Dir, "body", b)));
        Assert.False(File.Exists(Path.Combine(Dir, "body", a)));
        await using var again = QueueStore.Open(Dir);
        var byId = again.Messages.ToDictionary(m => m.QueueId);
        Assert.Equal(small, ReadBody(byId[a]));
        Assert.Equal(large, ReadBody(byId[b]));
        Assert.Equal(eight, ReadBody(byId[c]));
        Assert.Equal(["a@example.com", "b@example.com"], byId[a].Envelope.Recipients);
        Assert.True(byId[c].Envelope.IsNullSender);
        Assert.Equal("joe@example.com", byId[c].Envelope.AuthenticatedUser);
        Assert.Equal("ESMTPS", byId[c].Envelope.Protocol);
        Assert.Equal(new[] { a, b, c }.Order(StringComparer.Ordinal), again.Messages.Select(m => m.QueueId).Order(StringComparer.Ordinal));
        Assert.True(string.CompareOrdinal(a, b) < 0 && string.CompareOrdinal(b, c) < 0); // ids sort by arrival
    }

    [Fact]
    public async Task Concurrent_commits_share_fsyncs_and_all_survive()
    {
        const int n = 300;
        await using (var q = QueueStore.Open(Dir))
        {
            var ids = await Task.WhenAll(Enumerable.Range(0, n).Select(i => Task.Run(() => Commit(q, Body(2048, (byte)i)))));
            Assert.Equal(n, ids.Distinct().Count());
            Assert.True(q.FsyncCount < n, $"{q.FsyncCount} fsyncs for {n} commits: no group commit");
        }
        await using var again = QueueStore.Open(Dir);
        Assert.Equal(n, again.Messages.Count);
    }

    [Fact]
    public async Task A_torn_last_record_is_cut_off_and_earlier_messages_kept()
    {
        string kept;
        await using (var q = QueueStore.Open(Dir))
        {
            kept = await Commit(q, Body(500));
            await Commit(q, Body(600));
        }
        var segment = Directory.GetFiles(Path.Combine(Dir, "log")).Single();
        var length = new FileInfo(segment).Length;
        // Crash during the second record's write, before its fsync: only part of it reached the disk.
        using (var f = new FileStream(segment, FileMode.Open))
            f.SetLength(length - 300);

        var snapshot = QueueStore.ReadSnapshot(Dir); // a reader never truncates
        Assert.Equal([kept], snapshot.Messages.Select(m => m.QueueId));
        Assert.Equal(length - 300, new FileInfo(segment).Length);

        await using (var q = QueueStore.Open(Dir))
        {
            Assert.Equal([kept], q.Messages.Select(m => m.QueueId));
            Assert.Equal(1, q.RecoveredTornRecords);
            await Commit(q, Body(700)); // appends after the cut
        }
        await using var again = QueueStore.Open(Dir);
        Assert.Equal(2, again.Messages.Count);
        Assert.Empty(again.RecoveryErrors);
    }

    [Fact]
    public async Task Garbage_after_the_last_record_is_cut_off()
    {
        await using (var q = QueueStore.Open(Dir))
            await Commit(q, Body(100));
        var segment = Directory.GetFiles(Path.Combine(Dir, "log")).Single();
        await File.AppendAllTextAsync(segment, "MWQ1\u0001garbage that is not a record");
        await using var again = QueueStore.Open(Dir);
        Assert.Single(again.Messages);
        Assert.Equal(1, again.RecoveredTornRecords);
    }

    [Fact]
    public async Task Receiving_bodies_in_tmp_and_uncommitted_body_files_are_removed()
    {
        await using (var q = QueueStore.Open(Dir))
            await Commit(q, Body(100));
        await File.WriteAllTextAsync(Path.Combine(Dir, "tmp", "0000000000000001"), "half a message");
        await File.WriteAllTextAsync(Path.Combine(Dir, "body", "0000000000000002"), "fsynced body, record never written");
        await using var again = QueueStore.Open(Dir);
        Assert.Single(again.Messages);
        Assert.Empty(Directory.GetFiles(Path.Combine(Dir, "tmp")));
        Assert.Empty(Directory.GetFiles(Path.Combine(Dir, "body")));
    }

    [Fact]
    public async Task A_transaction_disposed_without_commit_leaves_nothing()
    {
        await using var q = QueueStore.Open(Dir);
        await using (var tx = q.Begin(Envelope()))
            await tx.WriteAsync(Body(200_000)); // spilled to tmp/
        Assert.Empty(Directory.GetFiles(Path.Combine(Dir, "tmp")));
        Assert.Empty(q.Messages);
    }

    [Fact]
    public async Task Only_one_process_writes_a_queue()
    {
        await using var q = QueueStore.Open(Dir);
        var e = Assert.Throws<IOException>(() => QueueStore.Open(Dir));
        Assert.Contains("in use", e.Message);
    }

    [Fact]
    public async Task Segments_roll_and_a_corrupt_middle_segment_is_reported_not_fatal()
    {
        var options = new QueueOptions { SegmentBytes = 10_000 };
        await using (var q = QueueStore.Open(Dir, options))
            for (var i = 0; i < 20; i++)
                await Commit(q, Body(3000, (byte)i));
        var segments = Directory.GetFiles(Path.Combine(Dir, "log")).Order().ToArray();
        Assert.True(segments.Length >= 5);
        await using (var q = QueueStore.Open(Dir, options))
            Assert.Equal(20, q.Messages.Count);

        // Flip a byte inside the first segment's first record: its checksum no longer matches.
        var bytes = await File.ReadAllBytesAsync(segments[0]);
        bytes[50] ^= 0xFF;
        await File.WriteAllBytesAsync(segments[0], bytes);
        await using var again = QueueStore.Open(Dir, options);
        Assert.True(again.Messages.Count < 20 && again.Messages.Count >= 20 - 3);
        Assert.Contains(again.RecoveryErrors, e => e.Contains("checksum", StringComparison.Ordinal));
        Assert.Equal(bytes.Length, new FileInfo(segments[0]).Length); // not truncated: not the tail
    }

    [Fact]
    public async Task Recipient_checkpoints_and_removal_survive_a_reopen()
    {
        string id;
        await using (var q = QueueStore.Open(Dir))
        {
            id = await Commit(q, Body(100), Envelope("a@example.com", "b@example.com", "c@example.com"));
            await q.MarkDoneAsync(id, 1, RecipientOutcome.Delivered);
            Assert.Equal([0, 2], q.Messages.Single().PendingRecipients);
        }
        await using (var q = QueueStore.Open(Dir))
        {
            var m = Assert.Single(q.Messages);
            Assert.Equal([0, 2], m.PendingRecipients);
            Assert.Equal(RecipientOutcome.Delivered, m.Done[1]);
            await q.RemoveAsync(id);
            Assert.Empty(q.Messages);
        }
        await using var again = QueueStore.Open(Dir);
        Assert.Empty(again.Messages);
    }

    [Fact]
    public async Task A_committed_message_is_announced_at_once()
    {
        await using var q = QueueStore.Open(Dir);
        var committed = q.SubscribeCommitted();
        var id = await Commit(q, Body(100));
        Assert.True(committed.TryRead(out var announced));
        Assert.Equal(id, announced.QueueId);
        Assert.Throws<InvalidOperationException>(() => q.SubscribeCommitted()); // one delivery loop
    }

    [Fact]
    public async Task With_no_delivery_loop_committed_messages_are_not_kept_in_memory()
    {
        // Delivery:Enabled=false: nothing subscribes, and a held queue must not grow a list in memory.
        await using var q = QueueStore.Open(Dir);
        for (var i = 0; i < 20; i++)
            await Commit(q, Body(100, (byte)i));
        Assert.Equal(0, q.CommittedWaiting);
        Assert.Equal(20, q.Messages.Count); // all queued, on disk and in the index
        var committed = q.SubscribeCommitted();
        var id = await Commit(q, Body(100));
        Assert.Equal(1, q.CommittedWaiting);
        Assert.True(committed.TryRead(out var announced));
        Assert.Equal(id, announced.QueueId);
    }

    [Fact]
    public async Task A_recipient_done_record_keeps_the_status_code_and_the_remote_reply_across_a_restart()
    {
        string id;
        await using (var q = QueueStore.Open(Dir))
        {
            id = await Commit(q, Body(100), Envelope("a@example.com", "b@example.com"));
            await q.MarkDoneAsync(id, 0, RecipientOutcome.Bounced,
                new RecipientReport("mx.test [192.0.2.1] said: 550 5.1.1 gone", "5.1.1", "mx.test", "550 5.1.1 gone"));
        }
        await using var again = QueueStore.Open(Dir);
        var m = again.Find(id)!;
        Assert.Equal(new RecipientReport("mx.test [192.0.2.1] said: 550 5.1.1 gone", "5.1.1", "mx.test", "550 5.1.1 gone"), m.ReportFor(0));
        Assert.Equal(RecipientReport.None, m.ReportFor(1));
    }

    [Fact]
    public async Task Dead_segments_are_deleted_and_a_deferred_message_is_moved_forward_instead_of_pinning_them()
    {
        var options = new QueueOptions { SegmentBytes = 4_000 };
        var ids = new List<string>();
        var segments = () => Directory.GetFiles(Path.Combine(Dir, "log")).Length;
        var first = Body(300, 0);
        await using (var q = QueueStore.Open(Dir, options))
        {
            // About ten messages a segment: the first segment will be nine tenths dead.
            for (var i = 0; i < 40; i++)
                ids.Add(await Commit(q, i == 0 ? first : Body(300, (byte)i), Envelope("a@example.com", "b@example.com")));
            Assert.True(segments() >= 4);
            // The first message stays deferred, one recipient done: it would pin every later segment.
            await q.MarkDoneAsync(ids[0], 1, RecipientOutcome.Bounced, "550 no such user");
            foreach (var id in ids.Skip(1))
                await q.RemoveAsync(id);
            await Commit(q, Body(3000)); // rolls on; the writer compacts and tidies after each batch
            Assert.True(segments() <= 3, $"{segments()} segments left");
            Assert.True(q.Relocated >= 1);
            Assert.Equal(first, ReadBody(q.Find(ids[0])!)); // the body now lives at its new place
        }
        await using var again = QueueStore.Open(Dir, options);
        var m = again.Messages.Single(x => x.QueueId == ids[0]);
        Assert.Equal(first, ReadBody(m));
        Assert.Equal(RecipientOutcome.Bounced, m.Done[1]);
        Assert.Equal("550 no such user", m.ReasonFor(1));
        Assert.Equal([0], m.PendingRecipients);
        Assert.Equal(2, again.Messages.Count);
    }

    [Fact]
    public async Task Top_fields_are_read_above_the_body_across_a_reopen_and_a_compaction()
    {
        var options = new QueueOptions { SegmentBytes = 4_000 };
        var top = "Authentication-Results: mail.test;\r\n\tspf=pass smtp.mailfrom=a@b.test\r\n"u8.ToArray();
        var small = Body(300, 3);
        var large = Body(100_000, 5); // a body file: the top fields still live in the record
        var ids = new List<string>();
        async Task<string> WithTop(QueueStore q, byte[] body)
        {
            await using var tx = q.Begin(Envelope("a@example.com", "b@example.com"));
            await tx.WriteAsync(body);
            tx.SetTopFields(top);
            return await tx.CommitAsync();
        }
        await using (var q = QueueStore.Open(Dir, options))
        {
            ids.Add(await WithTop(q, small));
            ids.Add(await WithTop(q, large));
            for (var i = 0; i < 30; i++)
                ids.Add(await Commit(q, Body(300, (byte)i), Envelope("a@example.com", "b@example.com")));
            var m = q.Find(ids[0])!;
            Assert.Equal([.. top, .. small], ReadBody(m));
            Assert.Equal(small.Length + top.Length, m.MessageLength);
            Assert.Equal(small.Length, m.BodyLength);
            // Delivery reads the message again for each target: the stream seeks back over the top fields.
            await using (var s = QueueStore.OpenBody(m))
            {
                Assert.Equal(m.MessageLength, s.Length);
                s.ReadExactly(new byte[top.Length + 10]);
                s.Position = 0;
                var again = new byte[top.Length];
                s.ReadExactly(again);
                Assert.Equal(top, again);
            }
            Assert.Null(q.Find(ids[2])!.TopFields); // a record without them is written as before
            // The first message stays deferred while the rest go: compaction moves it with its top fields.
            await q.MarkDoneAsync(ids[0], 1, RecipientOutcome.Delivered, "ok");
            foreach (var id in ids.Skip(2))
                await q.RemoveAsync(id);
            await Commit(q, Body(3000));
            Assert.True(q.Relocated >= 1);
            Assert.Equal([.. top, .. small], ReadBody(q.Find(ids[0])!));
        }
        await using var reopened = QueueStore.Open(Dir, options);
        Assert.Equal([.. top, .. small], ReadBody(reopened.Find(ids[0])!));
        Assert.Equal([.. top, .. large], ReadBody(reopened.Find(ids[1])!));
        Assert.Equal(large.Length, new FileInfo(reopened.Find(ids[1])!.Body.FilePath!).Length); // the file holds the body alone
    }

    [Fact]
    public async Task Top_fields_must_be_whole_fields_of_at_most_64_KiB()
    {
        await using var q = QueueStore.Open(Dir);
        await using var tx = q.Begin(Envelope());
        Assert.Throws<ArgumentException>(() => tx.SetTopFields("X-Unended: yes"u8));
        Assert.Throws<ArgumentException>(() => tx.SetTopFields(new byte[64 * 1024 + 1]));
    }
}
