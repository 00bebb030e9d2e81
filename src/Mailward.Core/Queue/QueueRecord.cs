// The framing of queue log records (docs/queue-format.md, "Records"): magic, type, length,
// payload, CRC-32, end marker. Encoding is bounded and decoding rejects anything incomplete,
// oversized or foreign; internal files are not parsed like input (design rule 4).
using System.Buffers;
using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace Mailward.Core.Queue;

internal enum QueueRecordType : byte
{
    Message = 1,
    RecipientDone = 2,
    MessageRemoved = 3,
}

internal static class QueueRecord
{
    public static ReadOnlySpan<byte> Magic => "MWQ1"u8;
    public static ReadOnlySpan<byte> End => "END\n"u8;
    public const int HeaderSize = 9;     // magic, type, length
    public const int TrailerSize = 8;    // crc, end
    public const int MaxPayload = (16 << 20) + (64 << 10);
    public const int MaxString = 4096;
    public const int MaxTopFields = 64 * 1024;

    /// <summary>Frames <paramref name="payload"/> as one record.</summary>
    public static byte[] Frame(QueueRecordType type, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > MaxPayload)
            throw new ArgumentException("queue record too large");
        var record = new byte[HeaderSize + payload.Length + TrailerSize];
        Magic.CopyTo(record);
        record[4] = (byte)type;
        BinaryPrimitives.WriteInt32LittleEndian(record.AsSpan(5), payload.Length);
        payload.CopyTo(record.AsSpan(HeaderSize));
        var crc = Crc32.HashToUInt32(record.AsSpan(4, 5 + payload.Length));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(HeaderSize + payload.Length), crc);
        End.CopyTo(record.AsSpan(HeaderSize + payload.Length + 4));
        return record;
    }

    /// <summary>Checks a header; the payload length, or -1 when this is not the start of a valid record.</summary>
    public static int PayloadLength(ReadOnlySpan<byte> header)
    {
        if (header.Length < HeaderSize || !header[..4].SequenceEqual(Magic) || header[4] is < 1 or > 3)
            return -1;
        var length = BinaryPrimitives.ReadInt32LittleEndian(header[5..]);
        return length is < 0 or > MaxPayload ? -1 : length;
    }

    /// <summary>Checks the CRC and end marker of a whole record.</summary>
    public static bool TrailerValid(ReadOnlySpan<byte> record, int payloadLength)
    {
        var crc = Crc32.HashToUInt32(record.Slice(4, 5 + payloadLength));
        return BinaryPrimitives.ReadUInt32LittleEndian(record[(HeaderSize + payloadLength)..]) == crc &&
               record.Slice(HeaderSize + payloadLength + 4, 4).SequenceEqual(End);
    }
}

/// <summary>Builds a payload: length-prefixed strings and little-endian numbers.</summary>
internal sealed class PayloadWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(256);

    public PayloadWriter String(string s)
    {
        var count = Encoding.UTF8.GetByteCount(s);
        if (count > QueueRecord.MaxString)
            throw new ArgumentException($"queue string longer than {QueueRecord.MaxString} bytes");
        BinaryPrimitives.WriteUInt16LittleEndian(_buffer.GetSpan(2), (ushort)count);
        _buffer.Advance(2);
        _buffer.Advance(Encoding.UTF8.GetBytes(s, _buffer.GetSpan(count)));
        return this;
    }

    public PayloadWriter Int32(int v)
    {
        BinaryPrimitives.WriteInt32LittleEndian(_buffer.GetSpan(4), v);
        _buffer.Advance(4);
        return this;
    }

    public PayloadWriter Int64(long v)
    {
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.GetSpan(8), v);
        _buffer.Advance(8);
        return this;
    }

    public PayloadWriter Byte(byte v)
    {
        _buffer.GetSpan(1)[0] = v;
        _buffer.Advance(1);
        return this;
    }

    public PayloadWriter Bytes(ReadOnlySpan<byte> v)
    {
        _buffer.Write(v);
        return this;
    }

    public ReadOnlySpan<byte> Span => _buffer.WrittenSpan;
}

/// <summary>Reads a payload written by <see cref="PayloadWriter"/>; any overrun is a format error.</summary>
internal ref struct PayloadReader(ReadOnlySpan<byte> payload)
{
    private readonly ReadOnlySpan<byte> _payload = payload;
    private int _pos;

    public readonly int Position => _pos;
    public readonly bool AtEnd => _pos == _payload.Length;

    private ReadOnlySpan<byte> Take(int n)
    {
        if (n < 0 || _pos + n > _payload.Length)
            throw new InvalidDataException("queue record payload ends early");
        var s = _payload.Slice(_pos, n);
        _pos += n;
        return s;
    }

    public string String()
    {
        var len = BinaryPrimitives.ReadUInt16LittleEndian(Take(2));
        if (len > QueueRecord.MaxString)
            throw new InvalidDataException("queue string too long");
        return Encoding.UTF8.GetString(Take(len));
    }

    public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
    public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));
    public byte Byte() => Take(1)[0];
    public ReadOnlySpan<byte> Bytes(int n) => Take(n);
}
