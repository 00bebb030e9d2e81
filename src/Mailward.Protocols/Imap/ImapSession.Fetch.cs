// FETCH and UID FETCH (RFC 9051 §6.4.5): the items are parsed into a plan once, then written per
// message straight into the reply buffer; a message's text is streamed from its file with CRLF
// line ends and flushed in 64 KiB steps, so a FETCH of a whole folder holds one block at a time.
using System.Buffers;
using System.Globalization;
using System.Text;
using Mailward.Core.MailStore;

namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    private enum FetchKind
    {
        Uid,
        Flags,
        InternalDate,
        Size,
        Body,
        ModSeq,
        Envelope,
        BodyStructure,
        Binary,
        BinarySize,
    }

    /// <summary>What writing one message's FETCH response came to.</summary>
    private enum FetchOutcome
    {
        Written,

        /// <summary>The message's file was gone: nothing written.</summary>
        Gone,

        /// <summary>A BINARY item names a part whose encoding is unknown: nothing written (RFC 3516 §4.3).</summary>
        UnknownCte,
    }

    /// <summary>One FETCH item; for Body and Binary the section ("" for the whole message) and an optional &lt;start.length&gt;.</summary>
    private sealed record FetchItem(FetchKind Kind, string Name, string Section = "", long Start = -1, long Length = -1, bool Peek = true)
    {
        /// <summary>The parsed section of a BODY[section] item other than the whole message.</summary>
        public Fetch.Section? Parsed { get; init; }
    }

    private async Task<bool> FetchAsync(string tag, IReadOnlyList<ImapToken> args, bool uid, CancellationToken ct)
    {
        if (args.Count is < 2 or > 3 || args.Count == 3 && args[2].Kind != ImapTokenKind.List)
            return Bad(tag, "FETCH set items [(CHANGEDSINCE modseq [VANISHED])]");
        // RFC 7162 §3.1.4.1 CHANGEDSINCE, §3.2.6 VANISHED (UID FETCH only, with QRESYNC on).
        ulong? changedSince = null;
        var vanished = false;
        if (args.Count == 3)
        {
            var m = args[2].Items;
            for (var i = 0; i < m.Count; i++)
            {
                if (m[i].IsAtom("CHANGEDSINCE") && i + 1 < m.Count && ulong.TryParse(m[i + 1].Text, out var since))
                    changedSince = since;
                else if (m[i].IsAtom("VANISHED") && uid && _qresync)
                {
                    vanished = true;
                    continue;
                }
                else
                    return Bad(tag, "unknown FETCH modifier");
                i++;
            }
            if (changedSince is null)
                return Bad(tag, "VANISHED needs CHANGEDSINCE");
            EnableCondStore();
        }
        var s = _selected!;
        if (Messages(tag, args[0], uid) is not { } picked)
            return true;
        var tokens = args[1].Kind == ImapTokenKind.List ? args[1].Items : [args[1]];
        var items = new List<FetchItem>();
        if (uid)
            items.Add(new FetchItem(FetchKind.Uid, "UID"));
        foreach (var t in tokens)
        {
            if (t.Kind != ImapTokenKind.Atom || ParseFetchItem(t.Text) is not { } parsed)
                return Bad(tag, "unknown or unsupported FETCH item " + Core.Policy.ClientText.Printable(t.Text, 60));
            foreach (var item in parsed)
                if (!items.Any(i => i.Kind == item.Kind && i.Name == item.Name && (i.Kind is not (FetchKind.Body or FetchKind.Binary) || i == item)))
                    items.Add(item);
        }
        if (changedSince is not null && !items.Any(i => i.Kind == FetchKind.ModSeq))
            items.Add(new FetchItem(FetchKind.ModSeq, "MODSEQ"));
        if (items.Any(i => i.Kind == FetchKind.ModSeq))
            EnableCondStore();
        var setsSeen = !s.ReadOnly && items.Any(i => i is { Kind: FetchKind.Body or FetchKind.Binary, Peek: false });
        if (setsSeen && !items.Any(i => i.Kind == FetchKind.Flags))
            items.Add(new FetchItem(FetchKind.Flags, "FLAGS"));
        await AnnounceChangesAsync(allowExpunge: uid, ct, force: false);
        if (vanished && SequenceSet.Parse(args[0].Text) is { } asked)
        {
            var gone = s.Mailbox.ExpungedSince(changedSince!.Value)
                .SelectMany(r => Enumerable.Range(0, (int)Math.Min(r.Last - r.First + 1, 1_000_000)).Select(i => r.First + (uint)i))
                .Where(u => asked.Contains(u, s.Mailbox.UidNext - 1))
                .ToList();
            if (gone.Count > 0)
                Untagged("VANISHED (EARLIER) " + SequenceSet.Format(gone));
        }
        var missing = false;
        var unknownCte = false;
        var binary = items.Any(i => i.Kind is FetchKind.Binary);
        using var readAhead = changedSince is null ? ReadAheadFor(s, picked, items) : null; // CHANGEDSINCE skips most: not read ahead
        foreach (var (_, u) in picked)
        {
            var seq = s.View.SeqOf(u);
            var entry = Find(s.Mailbox.Entries, u);
            if (entry is null || seq == 0)
            {
                missing = true; // expunged by another session; the client hears of it at the next NOOP
                continue;
            }
            if (changedSince is { } since && entry.ModSeq <= since)
                continue;
            if (setsSeen && !entry.Flags.HasFlag(MessageFlags.Seen))
            {
                // A BINARY this server cannot decode fails (RFC 3516 §4.2: [UNKNOWN-CTE]); a failed fetch reads nothing, so no \Seen.
                if (binary && await s.Mailbox.StructureAsync(u, ct) is { } structure && !BinaryDecodable(structure, items))
                {
                    unknownCte = true;
                    continue;
                }
                await s.Mailbox.StoreFlagsAsync(u, entry.Flags | MessageFlags.Seen, entry.Keywords.ToList(), ct);
                entry = Find(s.Mailbox.Entries, u) ?? entry;
            }
            switch (await WriteFetchAsync(seq, entry, items, ct))
            {
                case FetchOutcome.Gone: missing = true; break;
                case FetchOutcome.UnknownCte: unknownCte = true; break;
            }
            if (_channel.Output.WrittenCount > 1 << 16)
                await _channel.FlushAsync(ct);
        }
        if (unknownCte)
            return No(tag, "[UNKNOWN-CTE] a section's Content-Transfer-Encoding is not one this server can decode");
        return missing ? No(tag, "[EXPUNGEISSUED] some messages were expunged meanwhile") : Ok(tag, "FETCH completed");
    }

    /// <summary>
    /// The store reads the files ahead while this session parses (IMailbox.ReadAhead; it decides
    /// whether the count is worth it) when the items need structures that are not rendered yet:
    /// judged by the first message, since a folder's first FETCH misses all of them and a resync none.
    /// </summary>
    private IDisposable? ReadAheadFor(SelectedMailbox s, List<(int Seq, uint Uid)> picked, List<FetchItem> items)
    {
        if (picked.Count == 0)
            return null;
        var sections = items.Any(i => i.Parsed is not null);
        if (!sections && (!items.Any(i => i.Kind is FetchKind.Envelope or FetchKind.BodyStructure)
            || Find(s.Mailbox.Entries, picked[0].Uid) is not { } first || !RenderedFor(first, items).Missing))
            return null;
        return s.Mailbox.ReadAhead([.. picked.Select(p => p.Uid)]);
    }

    /// <summary>One FETCH item name, or a macro's items; null when not supported.</summary>
    private static List<FetchItem>? ParseFetchItem(string text)
    {
        var upper = text.ToUpperInvariant();
        switch (upper)
        {
            case "UID": return [new(FetchKind.Uid, "UID")];
            case "FLAGS": return [new(FetchKind.Flags, "FLAGS")];
            case "INTERNALDATE": return [new(FetchKind.InternalDate, "INTERNALDATE")];
            case "RFC822.SIZE": return [new(FetchKind.Size, "RFC822.SIZE")];
            case "MODSEQ": return [new(FetchKind.ModSeq, "MODSEQ")];
            case "ENVELOPE": return [new(FetchKind.Envelope, "ENVELOPE")];
            case "BODYSTRUCTURE": return [new(FetchKind.BodyStructure, "BODYSTRUCTURE")];
            case "BODY": return [new(FetchKind.BodyStructure, "BODY")];
            case "RFC822.HEADER": return [new(FetchKind.Body, "RFC822.HEADER", "HEADER") { Parsed = new([], Fetch.SectionKind.Header) }];
            case "RFC822.TEXT": return [new(FetchKind.Body, "RFC822.TEXT", "TEXT", Peek: false) { Parsed = new([], Fetch.SectionKind.Text) }];
            case "ALL": return [new(FetchKind.Flags, "FLAGS"), new(FetchKind.InternalDate, "INTERNALDATE"), new(FetchKind.Size, "RFC822.SIZE"), new(FetchKind.Envelope, "ENVELOPE")];
            case "FULL":
                return [new(FetchKind.Flags, "FLAGS"), new(FetchKind.InternalDate, "INTERNALDATE"), new(FetchKind.Size, "RFC822.SIZE"), new(FetchKind.Envelope, "ENVELOPE"),
                    new(FetchKind.BodyStructure, "BODY")];
            case "RFC822": return [new(FetchKind.Body, "RFC822", Peek: false)];
            case "FAST": return [new(FetchKind.Flags, "FLAGS"), new(FetchKind.InternalDate, "INTERNALDATE"), new(FetchKind.Size, "RFC822.SIZE")];
        }
        if (upper.StartsWith("BINARY", StringComparison.Ordinal))
            return ParseBinaryItem(upper) is { } binary ? [binary] : null;
        var peek = upper.StartsWith("BODY.PEEK[", StringComparison.Ordinal);
        if (!peek && !upper.StartsWith("BODY[", StringComparison.Ordinal))
            return null;
        var open = upper.IndexOf('[');
        var close = upper.IndexOf(']');
        var section = upper[(open + 1)..close];
        Fetch.Section? parsed = null;
        if (section.Length > 0 && (parsed = ParseSection(section)) is null)
            return null;
        long start = -1, length = -1;
        var rest = upper[(close + 1)..];
        if (rest.Length > 0)
        {
            // <start.length> (RFC 9051 §6.4.5)
            var dot = rest.IndexOf('.');
            if (rest[0] != '<' || rest[^1] != '>' || dot < 0
                || !long.TryParse(rest[1..dot], NumberStyles.None, CultureInfo.InvariantCulture, out start)
                || !long.TryParse(rest[(dot + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out length) || length == 0)
                return null;
        }
        return [new(FetchKind.Body, $"BODY[{section}]", section, start, length, peek) { Parsed = parsed }];
    }

    /// <summary>section-spec (RFC 9051 §6.4.5): part numbers "1.2", then HEADER, TEXT, MIME or HEADER.FIELDS[.NOT] (names); null when malformed.</summary>
    private static Fetch.Section? ParseSection(string text)
    {
        var parts = new List<int>();
        var rest = text;
        while (rest.Length > 0 && char.IsAsciiDigit(rest[0]))
        {
            var dot = rest.IndexOf('.');
            var number = dot < 0 ? rest : rest[..dot];
            if (!int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1 || parts.Count >= 100)
                return null;
            parts.Add(n);
            rest = dot < 0 ? "" : rest[(dot + 1)..];
        }
        Fetch.SectionKind kind;
        List<string>? fields = null;
        if (rest.Length == 0)
            kind = Fetch.SectionKind.Content;
        else if (rest == "HEADER")
            kind = Fetch.SectionKind.Header;
        else if (rest == "TEXT")
            kind = Fetch.SectionKind.Text;
        else if (rest == "MIME" && parts.Count > 0)
            kind = Fetch.SectionKind.Mime;
        else if (rest.StartsWith("HEADER.FIELDS", StringComparison.Ordinal))
        {
            var not = rest.StartsWith("HEADER.FIELDS.NOT", StringComparison.Ordinal);
            kind = not ? Fetch.SectionKind.HeaderFieldsNot : Fetch.SectionKind.HeaderFields;
            var list = rest[(not ? 17 : 13)..].Trim();
            if (list.Length < 2 || list[0] != '(' || list[^1] != ')')
                return null;
            fields = list[1..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(f => f.Trim('"')).ToList();
            if (fields.Count == 0)
                return null;
        }
        else
            return null;
        return new Fetch.Section([.. parts], kind, fields);
    }

    /// <summary>Writes "* n FETCH (...)"; nothing when the message's file was gone or a BINARY item cannot be decoded.</summary>
    private async Task<FetchOutcome> WriteFetchAsync(int seq, MailboxEntry entry, List<FetchItem> items, CancellationToken ct)
    {
        var output = _channel.Output;
        // Opened before anything of this message is written: a message gone meanwhile gets no reply.
        var reads = items.Any(i => i.Kind is FetchKind.Body or FetchKind.Binary or FetchKind.BinarySize);
        var opened = reads ? _selected!.Mailbox.OpenMessage(entry.Uid) : null;
        if (opened is null && reads)
            return FetchOutcome.Gone;
        // ENVELOPE and BODYSTRUCTURE rendered before by any session are written as they were; the
        // rest needs the structure (the folder's structure cache: parsed once per message).
        var rendered = RenderedFor(entry, items);
        var structure = rendered.Missing || items.Any(i => i.Parsed is not null) ? await _selected!.Mailbox.StructureAsync(entry.Uid, ct) : null;
        if (structure is null && (rendered.Missing || items.Any(i => i.Parsed is not null)))
        {
            opened?.Dispose();
            return FetchOutcome.Gone;
        }
        if (structure is not null && !BinaryDecodable(structure, items))
        {
            opened?.Dispose();
            return FetchOutcome.UnknownCte;
        }
        Raw(output, "* "u8, (ulong)seq, " FETCH ("u8);
        var first = true;
        foreach (var item in items)
        {
            if (!first)
                output.Write(" "u8);
            first = false;
            switch (item.Kind)
            {
                case FetchKind.Uid:
                    Raw(output, "UID "u8, entry.Uid, ""u8);
                    break;
                case FetchKind.Flags:
                    if (entry.Keywords.Count == 0)
                        output.Write(SystemFlagsText[(int)entry.Flags & 31]);
                    else
                        Raw(output, $"FLAGS ({SelectedView.FlagText(entry)})");
                    _selected!.View.Told(entry);
                    break;
                case FetchKind.InternalDate:
                    Raw(output, "INTERNALDATE \"" + entry.InternalDate.ToString("dd-MMM-yyyy HH:mm:ss ", CultureInfo.InvariantCulture)
                        + entry.InternalDate.ToString("zzz", CultureInfo.InvariantCulture).Replace(":", "", StringComparison.Ordinal) + "\"");
                    break;
                case FetchKind.Size:
                    Raw(output, "RFC822.SIZE "u8, (ulong)_selected!.Mailbox.VirtualSizeOf(entry), ""u8);
                    break;
                case FetchKind.ModSeq:
                    Raw(output, "MODSEQ ("u8, entry.ModSeq, ")"u8);
                    break;
                case FetchKind.Envelope or FetchKind.BodyStructure:
                    Raw(output, item.Kind == FetchKind.Envelope ? "ENVELOPE " : item.Name + " ");
                    output.Write(Rendered(entry, RenderKind(item), structure, rendered));
                    break;
                case FetchKind.Binary or FetchKind.BinarySize:
                    using (var reader = opened ?? _selected!.Mailbox.OpenMessage(entry.Uid))
                    {
                        opened = null;
                        await WriteBinaryAsync(item, structure!, reader, ct);
                    }
                    break;
                case FetchKind.Body when item.Parsed is { } section:
                    using (var reader = opened ?? _selected!.Mailbox.OpenMessage(entry.Uid))
                    {
                        opened = null;
                        var content = reader is null ? Fetch.SectionContent.Empty : Fetch.SectionReader.Open(structure!, reader, section);
                        var from = item.Start < 0 ? 0 : Math.Min(item.Start, content.Length);
                        var count = item.Length < 0 ? content.Length - from : Math.Min(item.Length, content.Length - from);
                        var label = item.Name.StartsWith("RFC822", StringComparison.Ordinal) ? item.Name : item.Start >= 0 ? $"{item.Name}<{item.Start}>" : item.Name;
                        Raw(output, $"{label} {{{count}}}\r\n");
                        await content.CopyToAsync(output, from, count, FlushWhenLarge, ct);
                    }
                    break;
                case FetchKind.Body:
                    // The first body item reads the file opened above; a second one opens it again.
                    using (var reader = opened ?? _selected!.Mailbox.OpenMessage(entry.Uid))
                    {
                        opened = null;
                        var size = _selected!.Mailbox.VirtualSizeOf(entry);
                        var start = item.Start < 0 ? 0 : Math.Min(item.Start, size);
                        var length = item.Length < 0 ? size - start : Math.Min(item.Length, size - start);
                        if (item.Name == "RFC822" || item.Start >= 0)
                            Raw(output, $"{(item.Name == "RFC822" ? "RFC822" : $"BODY[]<{item.Start}>")} {{{length}}}\r\n");
                        else
                            Raw(output, "BODY[] {"u8, (ulong)length, "}\r\n"u8);
                        await CrlfCopyAsync(reader, start, length, ct);
                    }
                    break;
            }
        }
        output.Write(")\r\n"u8);
        return FetchOutcome.Written;
    }

    /// <summary>The kept renderings of a message's ENVELOPE/BODYSTRUCTURE items; Missing when one must be rendered.</summary>
    private readonly record struct KeptRenders(byte[]?[]? Bytes, bool Missing);

    private Fetch.RenderedStructures.Kind RenderKind(FetchItem item) => item.Kind == FetchKind.Envelope ? Fetch.RenderedStructures.Kind.Envelope
        : item.Name == "BODYSTRUCTURE" ? (_rev2 ? Fetch.RenderedStructures.Kind.BodyStructureRev2 : Fetch.RenderedStructures.Kind.BodyStructure)
        : _rev2 ? Fetch.RenderedStructures.Kind.BodyRev2 : Fetch.RenderedStructures.Kind.Body;

    private KeptRenders RenderedFor(MailboxEntry entry, List<FetchItem> items)
    {
        byte[]?[]? bytes = null;
        var missing = false;
        foreach (var item in items)
        {
            if (item.Kind is not (FetchKind.Envelope or FetchKind.BodyStructure))
                continue;
            var kind = RenderKind(item);
            var box = _selected!.Mailbox;
            bytes ??= new byte[5][];
            bytes[(int)kind] = services.Renders?.Find(box.Owner.Address, box.Folder, box.UidValidity, entry.Uid, entry.Size, kind);
            missing |= bytes[(int)kind] is null;
        }
        return new KeptRenders(bytes, missing);
    }

    /// <summary>A kept rendering, or one made now from the structure (and kept for the next FETCH).</summary>
    private byte[] Rendered(MailboxEntry entry, Fetch.RenderedStructures.Kind kind, Core.MailStore.Structure.MessageStructure? structure, KeptRenders kept)
    {
        if (kept.Bytes?[(int)kind] is { } ready)
            return ready;
        var bytes = kind == Fetch.RenderedStructures.Kind.Envelope ? Fetch.EnvelopeWriter.Envelope(structure!)
            : Fetch.BodyStructureWriter.BodyStructure(structure!, extensible: kind is Fetch.RenderedStructures.Kind.BodyStructure or Fetch.RenderedStructures.Kind.BodyStructureRev2,
                rev2: kind is Fetch.RenderedStructures.Kind.BodyStructureRev2 or Fetch.RenderedStructures.Kind.BodyRev2);
        var box = _selected!.Mailbox;
        services.Renders?.Keep(box.Owner.Address, box.Folder, box.UidValidity, entry.Uid, entry.Size, kind, bytes);
        return bytes;
    }

    /// <summary>"FLAGS (...)" for each set of system flags: most messages have no keywords, and a FETCH of a big folder writes it for every one.</summary>
    private static readonly byte[][] SystemFlagsText = [.. Enumerable.Range(0, 32).Select(f =>
        Encoding.ASCII.GetBytes($"FLAGS ({SelectedView.FlagText(new MailboxEntry(0, (MessageFlags)f, [], 0, 0, default, ""))})"))];

    /// <summary>A number between two fixed parts, formatted straight into the reply buffer (no string made per message).</summary>
    private static void Raw(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> before, ulong number, ReadOnlySpan<byte> after)
    {
        var span = output.GetSpan(before.Length + 20 + after.Length);
        before.CopyTo(span);
        number.TryFormat(span[before.Length..], out var digits, default, CultureInfo.InvariantCulture);
        after.CopyTo(span[(before.Length + digits)..]);
        output.Advance(before.Length + digits + after.Length);
    }

    private static void Raw(ArrayBufferWriter<byte> output, string text)
    {
        var n = Encoding.UTF8.GetByteCount(text);
        Encoding.UTF8.GetBytes(text, output.GetSpan(n));
        output.Advance(n);
    }

    /// <summary>Sends what a literal wrote so far once it passes 64 KiB, so no large part is held whole.</summary>
    private ValueTask FlushWhenLarge(CancellationToken ct) =>
        _channel.Output.WrittenCount > 1 << 16 ? _channel.FlushAsync(ct) : ValueTask.CompletedTask;

    /// <summary>
    /// Writes the stored message (LF line ends) with CRLF line ends, from octet <paramref name="skip"/>
    /// of the CRLF form, exactly <paramref name="take"/> octets (padded with spaces should the file be
    /// shorter than its recorded size, so the literal's length stays true). Each block read is
    /// converted whole (Fetch.SectionContent.ToCrlf) and written at once, not line by line.
    /// </summary>
    private async Task CrlfCopyAsync(MessageReader? file, long skip, long take, CancellationToken ct)
    {
        var input = ArrayPool<byte>.Shared.Rent(1 << 16);
        var converted = ArrayPool<byte>.Shared.Rent(2 << 16); // every octet an LF at worst
        long position = 0; // in the CRLF form
        try
        {
            var last = (byte)0;
            int n;
            while (file is not null && take > 0 && (n = file.Read(input.AsSpan(0, 1 << 16))) > 0)
            {
                Emit(converted.AsSpan(0, Fetch.SectionContent.ToCrlf(input.AsSpan(0, n), ref last, converted)));
                if (_channel.Output.WrittenCount > 1 << 16)
                    await _channel.FlushAsync(ct);
            }
            while (take-- > 0)
                Emit(" "u8);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(converted);
        }

        void Emit(ReadOnlySpan<byte> bytes)
        {
            if (position + bytes.Length <= skip)
            {
                position += bytes.Length;
                return;
            }
            if (position < skip)
            {
                bytes = bytes[(int)(skip - position)..];
                position = skip;
            }
            if (bytes.Length > take)
                bytes = bytes[..(int)take];
            Fetch.ImapStrings.WriteLiteralOctets(_channel.Output, bytes);
            position += bytes.Length;
            take -= bytes.Length;
        }
    }
}
