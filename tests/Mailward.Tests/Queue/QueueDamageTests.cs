// A damaged byte in the queue log costs the records it hit, never the acknowledged mail behind
// them: one test per damage row of docs/queue-format.md ("Damage"), on a real queue folder.
using System.Text;
using Mailward.Core.Queue;
using Mailward.Tests.Support;

namespace Mailward.Tests.Queue;

public sealed class QueueDamageTests : IDisposable
{
    private readonly TempFolder _tmp = new();
    private string Dir => _tmp.Combine("queue");
    private string Corrupt => Path.Combine(Dir, "corrupt");

    public void Dispose() => _tmp.Dispose();

    private static QueueEnvelope Envelope(params string[] rcpts) =>
        new("sender@remote.test", rcpts.Length == 0 ? ["joe@example.com"] : rcpts, "192.0.2.1", "client.test", "ESMTP");

    private static async Task<string> Commit(QueueStore q, byte[] body, QueueEnvelope? envelope = null)
    {
        await using var tx = q.Begin(envelope ?? Envelope());
        await tx.WriteAsync(body);
        return await tx.CommitAsync();
    }

    private static byte[] Body(int n, int size = 800) =>
        Encoding.ASCII.GetBytes($"Subject: message {n}\r\n\r\n" + new string((char)('a' + n % 26), size) + "\r\n");

    /// <summary>The records of a segment as the writer framed them: offset, framed length, type.</summary>
    private static List<(long Offset, int Length, int Type)> Records(string segment)
    {
        var bytes = File.ReadAllBytes(segment);
        var list = new List<(long, int, int)>();
        for (var at = 0; at < bytes.Length;)
        {
            var length = QueueRecord.PayloadLength(bytes.AsSpan(at));
            Assert.True(length >= 0, $"the test's own queue is damaged at {at}");
            var framed = QueueRecord.HeaderSize + length + QueueRecord.TrailerSize;
            list.Add((at, framed, bytes[at + 4]));
            at += framed;
        }
        return list;
    }

    private static void Flip(string file, long offset, int count = 8)
    {
        using var f = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        var b = new byte[count];
        f.Position = offset;
        f.ReadExactly(b);
        for (var i = 0; i < count; i++)
            b[i] ^= 0x5A;
        f.Position = offset;
        f.Write(b);
    }

    private string OnlySegment() => Directory.GetFiles(Path.Combine(Dir, "log")).Single();

    private async Task<List<string>> QueueTen()
    {
        var ids = new List<string>();
        await using var q = QueueStore.Open(Dir);
        for (var i = 0; i < 10; i++)
            ids.Add(await Commit(q, Body(i)));
        return ids;
    }

    // Where in record 4 (of 10) the damage lands, relative to its start; the record's length is passed in.
    public static TheoryData<string> Places => ["payload", "length high byte", "length smaller", "crc", "end marker", "magic"];

    [Theory]
    [MemberData(nameof(Places))]
    public async Task Damage_in_one_record_costs_that_message_only_and_nothing_is_cut(string place)
    {
        var ids = await QueueTen();
        var segment = OnlySegment();
        var records = Records(segment);
        var (at, length, _) = records[4];
        var before = new FileInfo(segment).Length;
        switch (place)
        {
            case "payload": Flip(segment, at + length / 2); break;
            case "length high byte": Flip(segment, at + 8, 1); break; // over 16 MiB: the header itself is invalid
            case "length smaller":
                using (var f = new FileStream(segment, FileMode.Open, FileAccess.ReadWrite))
                {
                    f.Position = at + 5;
                    f.Write(BitConverter.GetBytes(length - 17 - 100)); // plausible, wrong: its claimed end holds no record
                }
                break;
            case "crc": Flip(segment, at + length - 8, 4); break;
            case "end marker": Flip(segment, at + length - 4, 4); break;
            case "magic": Flip(segment, at, 4); break;
        }

        await using (var q = QueueStore.Open(Dir))
        {
            Assert.Equal(ids.Where((_, i) => i != 4).Order(StringComparer.Ordinal), q.Messages.Select(m => m.QueueId).Order(StringComparer.Ordinal));
            var damage = Assert.Single(q.Health.Damage);
            Assert.Equal((at, at + length), (damage.Start, damage.End));
            Assert.Null(q.Health.TornTail);
            Assert.Contains(q.RecoveryErrors, e => e.Contains($"bytes {at}-{at + length}", StringComparison.Ordinal));
            if (place is "payload" or "crc" or "end marker" or "magic")
                Assert.Equal([ids[4]], q.Health.Suspects); // the id at the start of the payload is still readable
            Assert.Equal(before, new FileInfo(segment).Length); // no valid byte after the damage was removed
            var saved = Path.Combine(Corrupt, $"{Path.GetFileName(segment)}@{at}-{at + length}.damaged");
            Assert.Equal(File.ReadAllBytes(segment).AsSpan((int)at, length).ToArray(), File.ReadAllBytes(saved));
            // The queue goes on: a new message lands after the damage and survives a reopen.
            ids.Add(await Commit(q, Body(11)));
        }
        await using (var again = QueueStore.Open(Dir))
        {
            Assert.Equal(10, again.Messages.Count);
            Assert.Single(again.Health.Damage); // still there, still reported, saved once
        }
        Assert.Single(File.ReadAllLines(Path.Combine(Corrupt, "log")), l => l.Contains("damaged", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Damage_to_the_first_record_of_a_segment_and_to_an_older_segment_costs_only_those_records()
    {
        var options = new QueueOptions { SegmentBytes = 6_000 };
        var ids = new List<string>();
        await using (var q = QueueStore.Open(Dir, options))
            for (var i = 0; i < 30; i++)
                ids.Add(await Commit(q, Body(i)));
        var segments = Directory.GetFiles(Path.Combine(Dir, "log")).Order(StringComparer.Ordinal).ToArray();
        Assert.True(segments.Length >= 4);
        var lengths = segments.Select(s => new FileInfo(s).Length).ToArray();
        // The first record of the first segment, and the middle record of the second (an older segment).
        Flip(segments[0], Records(segments[0])[0].Length / 2);
        var second = Records(segments[1]);
        Flip(segments[1], second[second.Count / 2].Offset + 40);

        await using var again = QueueStore.Open(Dir, options);
        Assert.Equal(28, again.Messages.Count);
        Assert.Equal(2, again.Health.Damage.Count);
        Assert.Equal(0, again.Health.Damage[0].Start);
        Assert.Equal(lengths, segments.Select(s => new FileInfo(s).Length).ToArray());
        Assert.Equal(2, Directory.GetFiles(Corrupt, "*.damaged").Length);
    }

    [Fact]
    public async Task A_damaged_checkpoint_means_delivering_again_and_a_damaged_removal_brings_the_message_back()
    {
        string kept, removed;
        await using (var q = QueueStore.Open(Dir))
        {
            kept = await Commit(q, Body(1), Envelope("a@example.com", "b@example.com"));
            removed = await Commit(q, Body(2));
            await q.MarkDoneAsync(kept, 0, RecipientOutcome.Delivered);
            await Commit(q, Body(3)); // something valid after each
            await q.RemoveAsync(removed);
            await Commit(q, Body(4));
        }
        var segment = OnlySegment();
        var records = Records(segment);
        Assert.Equal([1, 1, 2, 1, 3, 1], records.Select(r => r.Type));
        Flip(segment, records[2].Offset + records[2].Length - 6, 2); // the checkpoint's end marker
        Flip(segment, records[4].Offset + 12, 2);                   // inside the removed record's id

        await using var again = QueueStore.Open(Dir);
        Assert.Equal(4, again.Messages.Count);
        Assert.Equal([0, 1], again.Find(kept)!.PendingRecipients); // at least once, never dropped
        Assert.NotNull(again.Find(removed));
        Assert.Equal(2, again.Health.Damage.Count);
        Assert.Contains(kept, again.Health.Suspects);
    }

    [Fact]
    public async Task A_damaged_or_missing_body_file_holds_the_message_and_reports_it()
    {
        var large = Enumerable.Repeat((byte)'x', 200_000).ToArray();
        string cut, gone, fine;
        await using (var q = QueueStore.Open(Dir))
        {
            cut = await Commit(q, large);
            gone = await Commit(q, large);
            fine = await Commit(q, Body(1));
        }
        using (var f = new FileStream(Path.Combine(Dir, "body", cut), FileMode.Open))
            f.SetLength(1000);
        File.Delete(Path.Combine(Dir, "body", gone));

        var (_, health) = QueueStore.Check(Dir);
        Assert.True(health.Damaged);
        await using var q2 = QueueStore.Open(Dir);
        Assert.Equal(3, q2.Messages.Count); // kept visible, not dropped
        Assert.Equal("body file missing", q2.Find(gone)!.Problem);
        Assert.Contains("1000 bytes", q2.Find(cut)!.Problem);
        Assert.False(q2.Find(fine)!.Held);
        Assert.Equal(2, q2.RecoveryErrors.Count(e => e.Contains("held", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_damaged_message_record_keeps_its_body_file_for_the_admin()
    {
        string big;
        await using (var q = QueueStore.Open(Dir))
        {
            big = await Commit(q, Enumerable.Repeat((byte)'y', 100_000).ToArray());
            await Commit(q, Body(1));
        }
        var segment = OnlySegment();
        Flip(segment, Records(segment)[0].Offset + 40);
        await using var again = QueueStore.Open(Dir);
        Assert.Single(again.Messages);
        Assert.False(File.Exists(Path.Combine(Dir, "body", big)));
        Assert.Equal(100_000, new FileInfo(Path.Combine(Corrupt, big + ".body")).Length);
        Assert.Contains(File.ReadAllLines(Path.Combine(Corrupt, "log")), l => l.Contains(big + ".body", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_record_shaped_string_inside_a_damaged_message_is_not_taken_for_a_record()
    {
        // A client can put a well-framed queue record in its message: here one that would queue
        // mail to evil@remote.test. When damage hits the message around it, it must stay body.
        var forged = new PayloadWriter().String("0000000000F0F0F0").Int64(0).String("x@remote.test").Int32(1).String("evil@remote.test")
            .String("192.0.2.66").String("forged").String("ESMTP").String("").Byte(0).Int64(0);
        var body = Encoding.ASCII.GetBytes("Subject: looks harmless\r\n\r\n")
            .Concat(QueueRecord.Frame(QueueRecordType.Message, forged.Span)).Concat(Encoding.ASCII.GetBytes("\r\nbye\r\n")).ToArray();
        string after;
        await using (var q = QueueStore.Open(Dir))
        {
            await Commit(q, body);
            after = await Commit(q, Body(2));
        }
        var segment = OnlySegment();
        Flip(segment, Records(segment)[0].Offset + 30); // the envelope, before the forged record

        await using var again = QueueStore.Open(Dir);
        Assert.Equal([after], again.Messages.Select(m => m.QueueId));
        Assert.DoesNotContain(again.Messages, m => m.Envelope.Recipients.Contains("evil@remote.test"));
    }

    [Fact]
    public async Task A_torn_tail_is_saved_before_the_cut_and_is_not_damage()
    {
        await using (var q = QueueStore.Open(Dir))
        {
            await Commit(q, Body(1));
            await Commit(q, Body(2));
        }
        var segment = OnlySegment();
        var full = new FileInfo(segment).Length;
        var tail = File.ReadAllBytes(segment).AsSpan((int)Records(segment)[1].Offset, 200).ToArray();
        using (var f = new FileStream(segment, FileMode.Open))
            f.SetLength(Records(segment)[1].Offset + 200);

        var (_, health) = QueueStore.Check(Dir);
        Assert.False(health.Damaged);
        Assert.NotNull(health.TornTail);
        await using var again = QueueStore.Open(Dir);
        Assert.Single(again.Messages);
        Assert.Empty(again.RecoveryErrors);
        Assert.Equal(Records(segment)[0].Length, new FileInfo(segment).Length);
        Assert.Equal(tail, File.ReadAllBytes(Directory.GetFiles(Corrupt, "*.torn").Single()));
        Assert.True(full > new FileInfo(segment).Length);
    }

    [Fact]
    public async Task A_segment_whose_damage_could_not_be_saved_is_never_deleted()
    {
        var options = new QueueOptions { SegmentBytes = 4_000 };
        var ids = new List<string>();
        await using (var q = QueueStore.Open(Dir, options))
            for (var i = 0; i < 12; i++)
                ids.Add(await Commit(q, Body(i, 300)));
        var first = Directory.GetFiles(Path.Combine(Dir, "log")).Order(StringComparer.Ordinal).First();
        Flip(first, Records(first)[1].Offset + 40);
        await File.WriteAllTextAsync(Corrupt, "a file where the folder should be: saving fails");

        await using (var q = QueueStore.Open(Dir, options))
        {
            Assert.Contains(q.RecoveryErrors, e => e.Contains("could not save", StringComparison.Ordinal));
            foreach (var m in q.Messages.ToList())
                await q.RemoveAsync(m.QueueId);
            await Commit(q, Body(99, 3000)); // rolls on: dead segments would go now
            Assert.True(File.Exists(first), "the only copy of the damage was deleted");
        }
        File.Delete(Corrupt);
        await using (var q = QueueStore.Open(Dir, options))
        {
            Assert.True(File.Exists(Path.Combine(Corrupt, $"{Path.GetFileName(first)}@{Records(first)[1].Offset}-{Records(first)[2].Offset}.damaged")));
            await Commit(q, Body(100, 3000));
            // Saved now: the dead segment may go. The writer deletes it after it has answered the batch's committers.
            for (var i = 0; i < 100 && File.Exists(first); i++)
                await Task.Delay(50);
            Assert.False(File.Exists(first));
        }
    }
}
