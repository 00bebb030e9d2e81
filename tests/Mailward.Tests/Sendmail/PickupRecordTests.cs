// The submission record (docs/pickup-format.md) read back exactly, and every damaged form of it
// refused: cut short anywhere, no end marker, a flipped bit, bytes after the end, a foreign header.
using System.Text;
using Mailward.Core.Sendmail;

namespace Mailward.Tests.Sendmail;

public sealed class PickupRecordTests
{
    private const long Max = 1 << 20;

    private static SendmailRequest Sample(string body = "Subject: hi\n\nhello\n") =>
        new(SendmailRequest.NewId(DateTimeOffset.UtcNow), DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), 33, "www-data",
            SendmailFlags.RecipientsFromHeader | SendmailFlags.IgnoreDots | SendmailFlags.SenderGiven, "boss@hosted.test", "The Boss",
            ["joe@hosted.test", "far@remote.test"], Encoding.UTF8.GetBytes(body));

    [Fact]
    public void A_record_reads_back_as_written()
    {
        var r = Sample("Subject: \u00e4\n\n\u00ff bytes\n");
        var back = PickupRecord.Read(PickupRecord.Write(r), Max);
        Assert.Equal(r.Id, back.Id);
        Assert.Equal(r.Created, back.Created);
        Assert.Equal((r.Uid, r.Login, r.Flags, r.Sender, r.FullName), (back.Uid, back.Login, back.Flags, back.Sender, back.FullName));
        Assert.Equal(r.Recipients, back.Recipients);
        Assert.Equal(r.Body, back.Body);
        Assert.True(SendmailRequest.IsValidId(r.Id));
    }

    [Fact]
    public void A_record_cut_anywhere_is_refused()
    {
        var bytes = PickupRecord.Write(Sample());
        for (var cut = 0; cut < bytes.Length; cut++)
            Assert.Throws<InvalidDataException>(() => PickupRecord.Read(bytes.AsSpan(0, cut), Max));
    }

    [Fact]
    public void A_record_without_its_end_marker_or_with_a_flipped_bit_or_a_tail_is_refused()
    {
        var bytes = PickupRecord.Write(Sample());
        var noEnd = bytes.ToArray();
        noEnd[^1] = (byte)'X';
        Assert.Contains("end marker", Assert.Throws<InvalidDataException>(() => PickupRecord.Read(noEnd, Max)).Message);
        for (var i = 0; i < bytes.Length; i += 7)
        {
            var flipped = bytes.ToArray();
            flipped[i] ^= 0x10;
            Assert.Throws<InvalidDataException>(() => PickupRecord.Read(flipped, Max));
        }
        Assert.Throws<InvalidDataException>(() => PickupRecord.Read([.. bytes, (byte)'\n'], Max));
        Assert.Throws<InvalidDataException>(() => PickupRecord.Read(bytes, maxPayload: 16)); // beyond the reader's bound
        var queueRecord = bytes.ToArray();
        "MWQ1"u8.CopyTo(queueRecord);
        Assert.Throws<InvalidDataException>(() => PickupRecord.Read(queueRecord, Max));
    }

    [Fact]
    public void Ids_sort_by_time_and_never_repeat()
    {
        var early = SendmailRequest.NewId(DateTimeOffset.FromUnixTimeMilliseconds(1_000));
        var late = SendmailRequest.NewId(DateTimeOffset.FromUnixTimeMilliseconds(2_000));
        Assert.True(string.CompareOrdinal(early, late) < 0);
        var now = DateTimeOffset.UtcNow;
        Assert.Equal(1000, Enumerable.Range(0, 1000).Select(_ => SendmailRequest.NewId(now)).Distinct().Count());
        Assert.False(SendmailRequest.IsValidId("../../etc/passwd"));
    }
}
