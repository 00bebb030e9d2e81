// The submission record, version 1 (docs/pickup-format.md): one framed record holding a
// SendmailRequest, written as a pickup file or sent over the control socket. Internal files are
// not parsed like input (design rule 4): magic, bounded length, CRC-32 and end marker, a payload
// that parses to its end exactly, nothing after it; anything else is damage.
using System.Buffers.Binary;
using System.IO.Hashing;
using Mailward.Core.Queue;

namespace Mailward.Core.Sendmail;

public static class PickupRecord
{
    public static ReadOnlySpan<byte> Magic => "MWP1"u8;
    public static ReadOnlySpan<byte> End => "END\n"u8;
    public const int HeaderSize = 8;   // magic, length
    public const int TrailerSize = 8;  // crc, end
    public const int EnvelopeAllowance = 1 << 20;

    /// <summary>The largest payload a reader accepts for a server whose message limit is <paramref name="maxMessageBytes"/>.</summary>
    public static long MaxPayload(long maxMessageBytes) => Math.Min(int.MaxValue - HeaderSize - TrailerSize, maxMessageBytes + EnvelopeAllowance);

    public static byte[] Write(SendmailRequest r)
    {
        if (r.Recipients.Count > SendmailRequest.MaxRecipients)
            throw new ArgumentException($"more than {SendmailRequest.MaxRecipients} recipients");
        var w = new PayloadWriter().String(r.Id).Int64(r.Created.ToUnixTimeMilliseconds()).Int32((int)r.Uid).String(r.Login)
            .Byte((byte)r.Flags).String(r.Sender).String(r.FullName).Int32(r.Recipients.Count);
        foreach (var rcpt in r.Recipients)
            w.String(rcpt);
        w.Int64(r.Body.Length).Bytes(r.Body);
        var payload = w.Span;
        var record = new byte[HeaderSize + payload.Length + TrailerSize];
        Magic.CopyTo(record);
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(4), payload.Length);
        payload.CopyTo(record.AsSpan(HeaderSize));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(HeaderSize + payload.Length), Crc32.HashToUInt32(record.AsSpan(4, 4 + payload.Length)));
        End.CopyTo(record.AsSpan(HeaderSize + payload.Length + 4));
        return record;
    }

    /// <summary>The payload length a header announces, or -1 when it is not a valid header within <paramref name="maxPayload"/>.</summary>
    public static int PayloadLength(ReadOnlySpan<byte> header, long maxPayload)
    {
        if (header.Length < HeaderSize || !header[..4].SequenceEqual(Magic))
            return -1;
        var length = BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        return length < 0 || length > maxPayload ? -1 : length;
    }

    /// <summary>Parses one whole record; throws InvalidDataException naming what is wrong.</summary>
    public static SendmailRequest Read(ReadOnlySpan<byte> record, long maxPayload)
    {
        var length = PayloadLength(record, maxPayload);
        if (length < 0)
            throw new InvalidDataException(record.Length < HeaderSize ? "shorter than a record header" : "no MWP1 header or a length out of bounds");
        if (record.Length < HeaderSize + length + TrailerSize)
            throw new InvalidDataException($"cut short: {record.Length} of {HeaderSize + length + TrailerSize} bytes (no end marker)");
        if (record.Length > HeaderSize + length + TrailerSize)
            throw new InvalidDataException("bytes after the end marker");
        var crc = BinaryPrimitives.ReadUInt32LittleEndian(record[(HeaderSize + length)..]);
        if (crc != Crc32.HashToUInt32(record.Slice(4, 4 + length)))
            throw new InvalidDataException("CRC mismatch");
        if (!record.Slice(HeaderSize + length + 4, 4).SequenceEqual(End))
            throw new InvalidDataException("no end marker");
        var p = new PayloadReader(record.Slice(HeaderSize, length));
        var id = p.String();
        if (!SendmailRequest.IsValidId(id))
            throw new InvalidDataException("not a submission id");
        var created = DateTimeOffset.FromUnixTimeMilliseconds(p.Int64());
        var uid = (uint)p.Int32();
        var login = p.String();
        var flags = (SendmailFlags)p.Byte();
        var sender = p.String();
        var fullName = p.String();
        var count = p.Int32();
        if (count is < 0 or > SendmailRequest.MaxRecipients)
            throw new InvalidDataException("recipient count out of bounds");
        var recipients = new string[count];
        for (var i = 0; i < count; i++)
            recipients[i] = p.String();
        var bodyLength = p.Int64();
        if (bodyLength < 0 || bodyLength > length)
            throw new InvalidDataException("body length out of bounds");
        var body = p.Bytes((int)bodyLength).ToArray();
        if (!p.AtEnd)
            throw new InvalidDataException("payload longer than its fields");
        return new SendmailRequest(id, created, uid, login, flags, sender, fullName, recipients, body);
    }
}
