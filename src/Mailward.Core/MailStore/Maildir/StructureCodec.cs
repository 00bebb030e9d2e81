// The payload of one record of the structure cache (docs/mail-store.md "The structure cache"):
// a message's key, sizes and MessageStructure in BinaryWriter's form (7-bit encoded counts,
// little-endian integers, one byte per bool). Strings are octet strings (one char per octet)
// written as a 7-bit length plus one (0: null) and the octets. The search fields follow the top
// part when they were kept; a payload without them (older ones) still reads. Written and read on
// spans, not through BinaryWriter/BinaryReader: a folder's first metadata FETCH encodes every
// message and a later one decodes every message, and the stream calls cost more than the fields.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Mailward.Core.Buffers;
using Mailward.Core.MailStore.Structure;

namespace Mailward.Core.MailStore.Maildir;

internal static class StructureCodec
{
    public static byte[] Encode(string key, MessageStructure s)
    {
        var w = new Writer();
        w.Text(key);
        w.Long(s.Size);
        w.Long(s.VirtualSize);
        Part(w, s.Root);
        if (s.SearchFields is { } fields)
        {
            w.Count(fields.Count);
            foreach (var f in fields)
            {
                w.Text(f.Name);
                w.Text(f.Value);
            }
        }
        return w.ToArray();
    }

    /// <summary>The key alone, for the index (cheap: the first field).</summary>
    public static string? Key(ReadOnlySpan<byte> payload)
    {
        try
        {
            var r = new Reader(payload);
            return r.Text();
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    /// <summary>The record's structure; null when it does not decode (treated as missing).</summary>
    public static (string Key, MessageStructure Structure)? Decode(ReadOnlySpan<byte> payload)
    {
        try
        {
            var r = new Reader(payload);
            var key = r.Text() ?? throw new InvalidDataException("no key");
            var size = r.Long();
            var virtualSize = r.Long();
            var root = Part(ref r, 0);
            List<HeaderField>? fields = null;
            if (!r.AtEnd)
            {
                var n = r.Count();
                fields = new List<HeaderField>(n);
                for (var i = 0; i < n; i++)
                    fields.Add(new HeaderField(r.Text() ?? throw new InvalidDataException("no name"), r.Text() ?? ""));
            }
            return r.AtEnd ? (key, new MessageStructure(root, size, virtualSize) { SearchFields = fields }) : null;
        }
        catch (InvalidDataException)
        {
            return null;
        }
    }

    private static void Region(Writer w, Region g)
    {
        w.Long(g.Offset);
        w.Long(g.Length);
        w.Long(g.Size);
        w.Long(g.Lines);
    }

    private static Region Region(ref Reader r) =>
        new(r.Long(), r.Long(), r.Long(), r.Long() is var lines and >= 0 and <= int.MaxValue ? (int)lines : throw new InvalidDataException("bad lines"));

    private static void Parameters(Writer w, IReadOnlyList<MimeParameter> ps)
    {
        w.Count(ps.Count);
        foreach (var p in ps)
        {
            w.Text(p.Name);
            w.Text(p.Value);
        }
    }

    private static List<MimeParameter> Parameters(ref Reader r)
    {
        var n = r.Count();
        var list = new List<MimeParameter>(n);
        for (var i = 0; i < n; i++)
            list.Add(new MimeParameter(r.Text() ?? "", r.Text() ?? ""));
        return list;
    }

    private static void Addresses(Writer w, IReadOnlyList<EnvelopeAddress>? list)
    {
        if (list is null)
        {
            w.Count(0);
            return;
        }
        w.Count(list.Count + 1);
        foreach (var a in list)
        {
            w.Text(a.Name);
            w.Text(a.Route);
            w.Text(a.Mailbox);
            w.Text(a.Host);
        }
    }

    private static List<EnvelopeAddress>? Addresses(ref Reader r)
    {
        var n = r.Count();
        if (n == 0)
            return null;
        var list = new List<EnvelopeAddress>(n - 1);
        for (var i = 0; i < n - 1; i++)
            list.Add(new EnvelopeAddress(r.Text(), r.Text(), r.Text(), r.Text()));
        return list;
    }

    private static void Part(Writer w, BodyPart p)
    {
        w.Byte((byte)p.Kind);
        Region(w, p.Header);
        Region(w, p.Body);
        w.Text(p.Type);
        w.Text(p.Subtype);
        Parameters(w, p.Parameters);
        w.Text(p.Id);
        w.Text(p.Description);
        w.Text(p.Encoding);
        w.Text(p.Md5);
        w.Text(p.Disposition);
        Parameters(w, p.DispositionParameters);
        w.Count(p.Languages is null ? 0 : p.Languages.Count + 1);
        foreach (var l in p.Languages ?? [])
            w.Text(l);
        w.Text(p.Location);
        w.Bool(p.Envelope is not null);
        if (p.Envelope is { } e)
        {
            w.Text(e.Date);
            w.Text(e.Subject);
            Addresses(w, e.From);
            Addresses(w, e.Sender);
            Addresses(w, e.ReplyTo);
            Addresses(w, e.To);
            Addresses(w, e.Cc);
            Addresses(w, e.Bcc);
            w.Text(e.InReplyTo);
            w.Text(e.MessageId);
        }
        w.Count(p.Parts.Count);
        foreach (var c in p.Parts)
            Part(w, c);
        w.Bool(p.Message is not null);
        if (p.Message is not null)
            Part(w, p.Message);
    }

    private static BodyPart Part(ref Reader r, int depth)
    {
        if (depth > 1024)
            throw new InvalidDataException("too deep");
        var kind = (BodyPartKind)r.Byte();
        if (kind is not (BodyPartKind.Leaf or BodyPartKind.Multipart or BodyPartKind.Message))
            throw new InvalidDataException("bad kind");
        var header = Region(ref r);
        var body = Region(ref r);
        var type = r.Text() ?? "text";
        var subtype = r.Text() ?? "plain";
        var parameters = Parameters(ref r);
        var (id, description, encoding, md5, disposition) = (r.Text(), r.Text(), r.Text(), r.Text(), r.Text());
        var dispositionParameters = Parameters(ref r);
        var languageCount = r.Count();
        List<string>? languages = null;
        if (languageCount > 0)
        {
            languages = new List<string>(languageCount - 1);
            for (var i = 0; i < languageCount - 1; i++)
                languages.Add(r.Text() ?? "");
        }
        var location = r.Text();
        Envelope? envelope = null;
        if (r.Bool())
            envelope = new Envelope(r.Text(), r.Text(), Addresses(ref r), Addresses(ref r), Addresses(ref r), Addresses(ref r), Addresses(ref r),
                Addresses(ref r), r.Text(), r.Text());
        var partCount = r.Count();
        var parts = new List<BodyPart>(partCount);
        for (var i = 0; i < partCount; i++)
            parts.Add(Part(ref r, depth + 1));
        var message = r.Bool() ? Part(ref r, depth + 1) : null;
        return new BodyPart
        {
            Kind = kind,
            Header = header,
            Body = body,
            Type = type,
            Subtype = subtype,
            Parameters = parameters,
            Id = id,
            Description = description,
            Encoding = encoding,
            Md5 = md5,
            Disposition = disposition,
            DispositionParameters = dispositionParameters,
            Languages = languages,
            Location = location,
            Envelope = envelope,
            Parts = parts,
            Message = message,
        };
    }

    /// <summary>A growing buffer the fields are written into (the thread's kept writer: ThreadWriter).</summary>
    private sealed class Writer
    {
        private readonly ArrayBufferWriter<byte> _buffer = ThreadWriter.Take();

        private Span<byte> Take(int n)
        {
            var span = _buffer.GetSpan(n)[..n];
            _buffer.Advance(n);
            return span;
        }

        public void Byte(byte b) => Take(1)[0] = b;

        public void Bool(bool b) => Byte(b ? (byte)1 : (byte)0);

        public void Long(long v) => BinaryPrimitives.WriteInt64LittleEndian(Take(8), v);

        /// <summary>BinaryWriter.Write7BitEncodedInt's form.</summary>
        public void Count(int v)
        {
            var u = (uint)v;
            while (u >= 0x80)
            {
                Byte((byte)(u | 0x80));
                u >>= 7;
            }
            Byte((byte)u);
        }

        public void Text(string? s)
        {
            if (s is null)
            {
                Count(0);
                return;
            }
            Count(s.Length + 1);
            Encoding.Latin1.GetBytes(s, Take(s.Length));
        }

        public byte[] ToArray() => ThreadWriter.CopyAndKeep(_buffer);
    }

    /// <summary>Reads the fields back; anything out of place is InvalidDataException.</summary>
    private ref struct Reader(ReadOnlySpan<byte> payload)
    {
        private readonly ReadOnlySpan<byte> _payload = payload;
        private int _at;

        public readonly bool AtEnd => _at == _payload.Length;

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || n > _payload.Length - _at)
                throw new InvalidDataException("short record");
            var span = _payload.Slice(_at, n);
            _at += n;
            return span;
        }

        public byte Byte() => Take(1)[0];

        public bool Bool() => Byte() != 0;

        public long Long() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        private int Seven()
        {
            uint v = 0;
            for (var shift = 0; shift < 35; shift += 7)
            {
                var b = Byte();
                v |= (uint)(b & 0x7F) << shift;
                if ((b & 0x80) == 0)
                    return shift == 28 && b > 0x0F ? throw new InvalidDataException("bad number") : (int)v;
            }
            throw new InvalidDataException("bad number");
        }

        /// <summary>A count bounded by what a record can hold, so a damaged one cannot ask for a huge list.</summary>
        public int Count()
        {
            var n = Seven();
            return n >= 0 && n <= _payload.Length - _at + 1 ? n : throw new InvalidDataException("bad count");
        }

        public string? Text()
        {
            var n = Seven();
            return n == 0 ? null : Encoding.Latin1.GetString(Take(n - 1));
        }
    }
}
