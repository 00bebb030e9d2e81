// The payload of one record of the structure cache (docs/mail-store.md "The structure cache"):
// a message's key, sizes and MessageStructure in BinaryWriter form. Strings are octet strings
// (one char per octet) written as a 7-bit length plus one (0: null) and the octets. The search
// fields follow the top part when they were kept; a payload without them (older ones) still reads.
using System.Text;
using Mailward.Core.MailStore.Structure;

namespace Mailward.Core.MailStore.Maildir;

internal static class StructureCodec
{
    public static byte[] Encode(string key, MessageStructure s)
    {
        using var buffer = new MemoryStream(512);
        using (var w = new BinaryWriter(buffer, Encoding.Latin1, leaveOpen: true))
        {
            Text(w, key);
            w.Write(s.Size);
            w.Write(s.VirtualSize);
            Part(w, s.Root);
            if (s.SearchFields is { } fields)
            {
                w.Write7BitEncodedInt(fields.Count);
                foreach (var f in fields)
                {
                    Text(w, f.Name);
                    Text(w, f.Value);
                }
            }
        }
        return buffer.ToArray();
    }

    /// <summary>The key alone, for the index (cheap: the first field).</summary>
    public static string? Key(ReadOnlySpan<byte> payload)
    {
        // Read7BitEncodedInt's rule by hand: this runs for every record when a folder's file is indexed.
        var n = 0;
        for (var (i, shift) = (0, 0); ; i++, shift += 7)
        {
            if (i >= payload.Length || shift > 28)
                return null;
            n |= (payload[i] & 0x7F) << shift;
            if ((payload[i] & 0x80) == 0)
            {
                payload = payload[(i + 1)..];
                break;
            }
        }
        return n == 0 || n - 1 > payload.Length || n < 0 ? null : Encoding.Latin1.GetString(payload[..(n - 1)]);
    }

    /// <summary>The record's structure; null when it does not decode (treated as missing).</summary>
    public static (string Key, MessageStructure Structure)? Decode(byte[] payload)
    {
        try
        {
            using var r = new BinaryReader(new MemoryStream(payload), Encoding.Latin1);
            var key = Text(r) ?? throw new InvalidDataException("no key");
            var size = r.ReadInt64();
            var virtualSize = r.ReadInt64();
            var root = Part(r, 0);
            List<HeaderField>? fields = null;
            if (r.BaseStream.Position < payload.Length)
            {
                var n = Count(r);
                fields = new List<HeaderField>(n);
                for (var i = 0; i < n; i++)
                    fields.Add(new HeaderField(Text(r) ?? throw new InvalidDataException("no name"), Text(r) ?? ""));
            }
            return r.BaseStream.Position == payload.Length ? (key, new MessageStructure(root, size, virtualSize) { SearchFields = fields }) : null;
        }
        catch (Exception e) when (e is EndOfStreamException or InvalidDataException or FormatException or ArgumentException or OverflowException)
        {
            return null;
        }
    }

    private static void Text(BinaryWriter w, string? s)
    {
        if (s is null)
        {
            w.Write7BitEncodedInt(0);
            return;
        }
        w.Write7BitEncodedInt(s.Length + 1);
        // Octet strings: one char per octet, written without an array per string (this runs for
        // every field of every part when a folder's structures are first cached).
        var pooled = s.Length > 512 ? System.Buffers.ArrayPool<byte>.Shared.Rent(s.Length) : null;
        var bytes = pooled is null ? stackalloc byte[s.Length] : pooled.AsSpan(0, s.Length);
        Encoding.Latin1.GetBytes(s, bytes);
        w.Write(bytes);
        if (pooled is not null)
            System.Buffers.ArrayPool<byte>.Shared.Return(pooled);
    }

    private static string? Text(BinaryReader r)
    {
        var n = r.Read7BitEncodedInt();
        if (n == 0)
            return null;
        var bytes = r.ReadBytes(n - 1);
        return bytes.Length == n - 1 ? Encoding.Latin1.GetString(bytes) : throw new EndOfStreamException();
    }

    private static void Region(BinaryWriter w, Region g)
    {
        w.Write(g.Offset);
        w.Write(g.Length);
        w.Write(g.Size);
        w.Write((long)g.Lines);
    }

    private static Region Region(BinaryReader r) => new(r.ReadInt64(), r.ReadInt64(), r.ReadInt64(), checked((int)r.ReadInt64()));

    private static void Parameters(BinaryWriter w, IReadOnlyList<MimeParameter> ps)
    {
        w.Write7BitEncodedInt(ps.Count);
        foreach (var p in ps)
        {
            Text(w, p.Name);
            Text(w, p.Value);
        }
    }

    private static List<MimeParameter> Parameters(BinaryReader r)
    {
        var n = Count(r);
        var list = new List<MimeParameter>(n);
        for (var i = 0; i < n; i++)
            list.Add(new MimeParameter(Text(r) ?? "", Text(r) ?? ""));
        return list;
    }

    private static void Addresses(BinaryWriter w, IReadOnlyList<EnvelopeAddress>? list)
    {
        if (list is null)
        {
            w.Write7BitEncodedInt(0);
            return;
        }
        w.Write7BitEncodedInt(list.Count + 1);
        foreach (var a in list)
        {
            Text(w, a.Name);
            Text(w, a.Route);
            Text(w, a.Mailbox);
            Text(w, a.Host);
        }
    }

    private static List<EnvelopeAddress>? Addresses(BinaryReader r)
    {
        var n = Count(r);
        if (n == 0)
            return null;
        var list = new List<EnvelopeAddress>(n - 1);
        for (var i = 0; i < n - 1; i++)
            list.Add(new EnvelopeAddress(Text(r), Text(r), Text(r), Text(r)));
        return list;
    }

    /// <summary>A count bounded by what a record can hold, so a damaged one cannot ask for a huge list.</summary>
    private static int Count(BinaryReader r)
    {
        var n = r.Read7BitEncodedInt();
        return n >= 0 && n <= r.BaseStream.Length - r.BaseStream.Position + 1 ? n : throw new InvalidDataException("bad count");
    }

    private static void Part(BinaryWriter w, BodyPart p)
    {
        w.Write((byte)p.Kind);
        Region(w, p.Header);
        Region(w, p.Body);
        Text(w, p.Type);
        Text(w, p.Subtype);
        Parameters(w, p.Parameters);
        Text(w, p.Id);
        Text(w, p.Description);
        Text(w, p.Encoding);
        Text(w, p.Md5);
        Text(w, p.Disposition);
        Parameters(w, p.DispositionParameters);
        w.Write7BitEncodedInt(p.Languages is null ? 0 : p.Languages.Count + 1);
        foreach (var l in p.Languages ?? [])
            Text(w, l);
        Text(w, p.Location);
        w.Write(p.Envelope is not null);
        if (p.Envelope is { } e)
        {
            Text(w, e.Date);
            Text(w, e.Subject);
            foreach (var list in new[] { e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc })
                Addresses(w, list);
            Text(w, e.InReplyTo);
            Text(w, e.MessageId);
        }
        w.Write7BitEncodedInt(p.Parts.Count);
        foreach (var c in p.Parts)
            Part(w, c);
        w.Write(p.Message is not null);
        if (p.Message is not null)
            Part(w, p.Message);
    }

    private static BodyPart Part(BinaryReader r, int depth)
    {
        if (depth > 1024)
            throw new InvalidDataException("too deep");
        var kind = (BodyPartKind)r.ReadByte();
        if (kind is not (BodyPartKind.Leaf or BodyPartKind.Multipart or BodyPartKind.Message))
            throw new InvalidDataException("bad kind");
        var header = Region(r);
        var body = Region(r);
        var type = Text(r) ?? "text";
        var subtype = Text(r) ?? "plain";
        var parameters = Parameters(r);
        var (id, description, encoding, md5, disposition) = (Text(r), Text(r), Text(r), Text(r), Text(r));
        var dispositionParameters = Parameters(r);
        var languageCount = Count(r);
        List<string>? languages = languageCount == 0 ? null : [.. Enumerable.Range(0, languageCount - 1).Select(_ => Text(r) ?? "")];
        var location = Text(r);
        Envelope? envelope = null;
        if (r.ReadBoolean())
            envelope = new Envelope(Text(r), Text(r), Addresses(r), Addresses(r), Addresses(r), Addresses(r), Addresses(r), Addresses(r), Text(r), Text(r));
        var partCount = Count(r);
        var parts = new List<BodyPart>(partCount);
        for (var i = 0; i < partCount; i++)
            parts.Add(Part(r, depth + 1));
        var message = r.ReadBoolean() ? Part(r, depth + 1) : null;
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
}
