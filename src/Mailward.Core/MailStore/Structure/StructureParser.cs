// Computes a MessageStructure from a stored message with MimeKit's MimeReader (its events carry
// the byte offsets of every header and body), then one more pass measures CRLF sizes and lines.
// Bounded (StructureLimits): deeper nesting than MaxDepth is left to MimeKit's own limit (the part
// stays a leaf), and a multipart that would bring the count of parts past MaxParts becomes one
// opaque leaf; neither is an error. A file that is not a message at all is one text/plain leaf.
using System.Text;
using MimeKit;

namespace Mailward.Core.MailStore.Structure;

public static class StructureParser
{
    /// <summary>The structure of a stored message.</summary>
    public static MessageStructure Parse(MessageReader message, StructureLimits? limits = null)
    {
        // Most messages are small: one read into a pooled buffer serves MimeKit's parse and the
        // measuring pass, instead of a pread for each of their block reads.
        if (message.TryGetBytes(out var whole, out var wholeLength))
            return ParseBytes(whole, wholeLength, limits);
        var length = message.Length;
        if (length <= WholeReadBytes)
        {
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
            try
            {
                if (message.ReadWhole(buffer.AsSpan(0, (int)length))) // else the file is shorter than its recorded size: read as before
                    return ParseBytes(buffer, (int)length, limits);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        using var stream = new MessageReaderStream(message);
        return Parse(stream, limits);
    }

    private static MessageStructure ParseBytes(byte[] bytes, int length, StructureLimits? limits)
    {
        using var memory = new MemoryStream(bytes, 0, length, writable: false, publiclyVisible: true);
        return Parse(memory, limits);
    }

    /// <summary>Messages up to this size are read whole before parsing.</summary>
    private const int WholeReadBytes = 1 << 20;

    /// <summary>The structure of the message in a seekable stream (LF or CRLF line ends).</summary>
    public static MessageStructure Parse(Stream message, StructureLimits? limits = null)
    {
        limits ??= StructureLimits.Default;
        var size = message.Length;
        // One reader per thread, given each message in turn: a new MimeReader allocates its
        // buffers every time, which showed in profiles of a folder's first metadata FETCH.
        var reader = t_reader is { } idle && idle.Limits == limits ? idle : new Reader(limits);
        t_reader = null; // in use
        message.Position = 0;
        reader.Start(message);
        try
        {
            reader.ReadMessage();
        }
        catch (FormatException)
        {
            reader.Root = null; // not even a header: the whole file is one plain body
        }
        finally
        {
            reader.Stop();
        }
        t_reader = reader;
        var root = reader.Root ?? new Node { HeaderEnd = 0, BodyOffset = 0, IsMessageTop = true, Fields = new() };
        if (reader.Root is null)
            root.BodyEnd = size;
        root.FixEnds(message, size);
        var offsets = new List<long> { 0, size };
        root.CollectOffsets(offsets);
        var measure = LineMeasure.Measure(message, offsets);
        var top = root.Build(measure, limits, parentSubtype: null);
        return new MessageStructure(top, size, measure.Region(0, size).Size)
        {
            SearchFields = reader.SearchFieldBytes <= MessageStructure.MaxSearchFieldBytes ? reader.SearchFields : null,
        };
    }

    /// <summary>The header fields a part needs (raw values, octets), by <see cref="Field"/>.</summary>
    internal sealed class Fields
    {
        public long Begin;
        public long End;
        private string?[]? _values; // made at the first field: most Fields made are replaced before they get one

        public string? this[Field name] => _values?[(int)name];

        public ref string? Slot(Field name) => ref (_values ??= new string?[Wanted.Count])[(int)name];
    }

    /// <summary>The fields a part's structure and envelope are made of.</summary>
    internal enum Field
    {
        ContentType,
        ContentTransferEncoding,
        ContentId,
        ContentDescription,
        ContentDisposition,
        ContentLanguage,
        ContentLocation,
        ContentMd5,
        Date,
        Subject,
        InReplyTo,
        MessageId,
        From,
        Sender,
        ReplyTo,
        To,
        Cc,
        Bcc,
    }

    internal sealed class Node
    {
        public BodyPartKind Kind;
        public long HeaderBegin;
        public long HeaderEnd;
        public long BodyOffset;
        public long BodyEnd;
        public bool IsMessageTop;
        public bool Opaque;
        public long EndBoundaryEnd = -1;
        public Fields Fields = new();
        public readonly List<Node> Children = [];
        public Node? Message;

        /// <summary>
        /// Where a part ends, as Dovecot (and RFC 2046 §5.1.1 read with it) has it, where MimeKit
        /// differs: the line break after a nested multipart's close-delimiter, and a blank line
        /// that ends a header right before a boundary, stay with the part (the next boundary then
        /// needs no line break of its own); a message/rfc822 part holds all of its message.
        /// </summary>
        public void FixEnds(Stream file, long size)
        {
            foreach (var c in Children)
                c.FixEnds(file, size);
            Message?.FixEnds(file, size);
            if (BodyEnd < HeaderEnd)
            {
                // The header's blank line is the line break before the next boundary: Dovecot keeps
                // it in the part but not in the header, and the body is empty.
                var end = BodyEnd;
                BodyOffset = BodyEnd = HeaderEnd;
                HeaderEnd = Math.Max(HeaderBegin, end);
            }
            if (Kind == BodyPartKind.Multipart && EndBoundaryEnd == BodyEnd && BodyEnd < size)
            {
                Span<byte> next = stackalloc byte[2];
                file.Position = BodyEnd;
                var n = file.ReadAtLeast(next, 2, throwOnEndOfStream: false);
                if (n >= 1 && next[0] == (byte)'\n')
                    BodyEnd += 1;
                else if (n == 2 && next[0] == (byte)'\r' && next[1] == (byte)'\n')
                    BodyEnd += 2;
            }
            if (Message is not null)
                BodyEnd = Math.Max(BodyEnd, Message.BodyEnd);
        }

        public void CollectOffsets(List<long> into)
        {
            into.Add(HeaderBegin);
            into.Add(HeaderEnd);
            into.Add(BodyOffset);
            into.Add(BodyEnd);
            foreach (var c in Children)
                c.CollectOffsets(into);
            Message?.CollectOffsets(into);
        }

        public BodyPart Build(LineMeasure measure, StructureLimits limits, string? parentSubtype)
        {
            var v = Fields;
            string? type = null, subtype = null;
            List<MimeParameter> parameters = [];
            if (v[Field.ContentType] is { } ct)
                (type, subtype, parameters) = MimeFields.ContentType(ct, limits.MaxParameters);
            // RFC 2046 §5.1.5: in a multipart/digest a part without a type is a message.
            if (type is null)
                (type, subtype) = string.Equals(parentSubtype, "digest", StringComparison.OrdinalIgnoreCase) ? ("message", "rfc822") : ("text", "plain");
            string? disposition = null;
            List<MimeParameter> dispositionParameters = [];
            if (v[Field.ContentDisposition] is { } cd)
                (disposition, dispositionParameters) = MimeFields.Disposition(cd, limits.MaxParameters);
            var kind = Opaque ? BodyPartKind.Leaf : Kind;
            var part = new BodyPart
            {
                Kind = kind,
                Header = measure.Region(HeaderBegin, HeaderEnd),
                Body = measure.Region(BodyOffset, Math.Max(BodyOffset, BodyEnd)),
                Type = type,
                Subtype = subtype!,
                Parameters = parameters,
                Id = Value(Field.ContentId),
                Description = Value(Field.ContentDescription),
                Encoding = Token(Field.ContentTransferEncoding),
                Md5 = Value(Field.ContentMd5),
                Disposition = disposition,
                DispositionParameters = dispositionParameters,
                Languages = v[Field.ContentLanguage] is { } lang ? MimeFields.Languages(lang) : null,
                Location = Value(Field.ContentLocation),
                Envelope = IsMessageTop ? Envelope(limits) : null,
                Parts = kind == BodyPartKind.Multipart ? [.. Children.Select(c => c.Build(measure, limits, subtype))] : [],
                Message = kind == BodyPartKind.Message ? Message?.Build(measure, limits, null) : null,
            };
            return part;
        }

        private string? Value(Field name) => Fields[name] is { } raw ? HeaderTokens.Unfold(raw).Trim(' ', '\t') : null;

        private string? Token(Field name) => Fields[name] is { } raw ? new HeaderTokens(HeaderTokens.Unfold(raw)).ReadValue() : null;

        private Envelope Envelope(StructureLimits limits)
        {
            List<EnvelopeAddress>? Addresses(Field name) =>
                Fields[name] is { } raw && AddressParser.Parse(raw, limits.MaxAddresses) is { Count: > 0 } list ? list : null;
            var from = Addresses(Field.From);
            // RFC 9051 §7.5.2: sender and reply-to default to from.
            return new Envelope(Fields[Field.Date], Fields[Field.Subject], from, Addresses(Field.Sender) ?? from, Addresses(Field.ReplyTo) ?? from,
                Addresses(Field.To), Addresses(Field.Cc), Addresses(Field.Bcc), Fields[Field.InReplyTo], Fields[Field.MessageId]);
        }
    }

    private enum Repeat
    {
        First,
        Last,
        Join,
    }

    private static readonly Dictionary<string, (Field Field, Repeat Rule)> Wanted = new(StringComparer.OrdinalIgnoreCase)
    {
        ["content-type"] = (Field.ContentType, Repeat.First),
        ["content-transfer-encoding"] = (Field.ContentTransferEncoding, Repeat.First),
        ["content-id"] = (Field.ContentId, Repeat.First),
        ["content-description"] = (Field.ContentDescription, Repeat.First),
        ["content-disposition"] = (Field.ContentDisposition, Repeat.First),
        ["content-language"] = (Field.ContentLanguage, Repeat.First),
        ["content-location"] = (Field.ContentLocation, Repeat.First),
        ["content-md5"] = (Field.ContentMd5, Repeat.First),
        ["date"] = (Field.Date, Repeat.Last),
        ["subject"] = (Field.Subject, Repeat.Last),
        ["in-reply-to"] = (Field.InReplyTo, Repeat.Last),
        ["message-id"] = (Field.MessageId, Repeat.Last),
        ["from"] = (Field.From, Repeat.Join),
        ["sender"] = (Field.Sender, Repeat.Join),
        ["reply-to"] = (Field.ReplyTo, Repeat.Join),
        ["to"] = (Field.To, Repeat.Join),
        ["cc"] = (Field.Cc, Repeat.Join),
        ["bcc"] = (Field.Bcc, Repeat.Join),
    };

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<int, ParserOptions> Options = new();

    /// <summary>One ParserOptions per depth limit, made once (never changed after): building one per message showed in profiles.</summary>
    private static ParserOptions OptionsFor(int maxDepth) => Options.GetOrAdd(Math.Max(1, maxDepth), depth => new ParserOptions { MaxMimeDepth = depth });

    /// <summary>Turns MimeReader's events into a tree of nodes.</summary>
    [ThreadStatic]
    private static Reader? t_reader;

    private sealed class Reader(StructureLimits limits)
        : MimeReader(OptionsFor(limits.MaxDepth), Stream.Null, MimeFormat.Entity)
    {
        private readonly Stack<Node> _open = new();
        private Fields _pending = new();
        private bool _nextIsMessageTop;
        private int _parts;
        private int _ignoring; // inside an opaque multipart or a message part that is not message/rfc822: events are not parts

        private bool _topHeader; // reading the message's own header (the first one)

        public Node? Root;

        public StructureLimits Limits => limits;

        /// <summary>Ready for a message: MimeKit's state and this reader's own.</summary>
        public void Start(Stream message)
        {
            SetStream(message, MimeFormat.Entity);
            _open.Clear();
            _pending = new();
            (_nextIsMessageTop, _parts, _ignoring, _topHeader, Root) = (false, 0, 0, false, null);
            SearchFields = [];
            SearchFieldBytes = 0;
        }

        /// <summary>Lets go of the message's stream while the reader waits for the next one.</summary>
        public void Stop() => SetStream(Stream.Null, MimeFormat.Entity);

        /// <summary>The top-level fields of MessageStructure.SearchFieldNames, whole, in order.</summary>
        public List<HeaderField> SearchFields { get; private set; } = [];

        public long SearchFieldBytes { get; private set; }

        protected override void OnHeadersBegin(long beginOffset, int beginLineNumber, CancellationToken cancellationToken)
        {
            _pending = new Fields { Begin = beginOffset, End = beginOffset };
            _topHeader = Root is null && _open.Count == 0;
        }

        protected override void OnHeaderRead(Header header, int beginLineNumber, CancellationToken cancellationToken)
        {
            if (_topHeader && MessageStructure.SearchFieldNames.Contains(header.Field) && SearchFieldBytes <= MessageStructure.MaxSearchFieldBytes)
            {
                SearchFieldBytes += header.RawValue.Length;
                SearchFields.Add(new HeaderField(header.Field, Encoding.Latin1.GetString(header.RawValue)));
            }
            if (_ignoring > 0 || !Wanted.TryGetValue(header.Field, out var wanted))
                return;
            var raw = header.RawValue;
            // Trimmed as bytes, then one string (Latin-1: a char per byte).
            var value = Encoding.Latin1.GetString(raw.AsSpan(0, Math.Min(raw.Length, limits.MaxHeaderBytes)).TrimStart(" \t"u8).TrimEnd("\n\r"u8));
            ref var slot = ref _pending.Slot(wanted.Field);
            // Twice the same field: MIME fields keep the first (Dovecot does); envelope texts the
            // last; address fields are joined into one list (Dovecot's envelope shows both).
            if (slot is null || wanted.Rule == Repeat.Last)
                slot = value;
            else if (wanted.Rule == Repeat.Join && slot.Length < limits.MaxHeaderBytes)
                slot = slot + "," + value;
        }

        protected override void OnHeadersEnd(long beginOffset, int beginLineNumber, long endOffset, int endLineNumber, CancellationToken cancellationToken)
        {
            _pending.End = endOffset;
            _topHeader = false;
        }

        protected override void OnMultipartEndBoundaryEnd(long beginOffset, int lineNumber, long endOffset, CancellationToken cancellationToken)
        {
            if (_ignoring == 0 && _open.Count > 0)
                _open.Peek().EndBoundaryEnd = endOffset;
        }

        protected override void OnMimeMessageBegin(long beginOffset, int beginLineNumber, CancellationToken cancellationToken) => _nextIsMessageTop = true;

        protected override void OnMimePartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) =>
            Begin(BodyPartKind.Leaf);

        protected override void OnMimePartEnd(ContentType contentType, long beginOffset, int beginLineNumber, long headersEndOffset, long endOffset, int lines, CancellationToken cancellationToken) =>
            End(headersEndOffset, endOffset);

        protected override void OnMultipartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) =>
            Begin(BodyPartKind.Multipart);

        protected override void OnMultipartEnd(ContentType contentType, long beginOffset, int beginLineNumber, long headersEndOffset, long endOffset, int lines, CancellationToken cancellationToken) =>
            End(headersEndOffset, endOffset);

        protected override void OnMessagePartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) =>
            Begin(contentType.IsMimeType("message", "rfc822") || contentType.IsMimeType("message", "global") ? BodyPartKind.Message : BodyPartKind.Leaf,
                encapsulates: true);

        protected override void OnMessagePartEnd(ContentType contentType, long beginOffset, int beginLineNumber, long headersEndOffset, long endOffset, int lines, CancellationToken cancellationToken) =>
            End(headersEndOffset, endOffset);

        private void Begin(BodyPartKind kind, bool encapsulates = false)
        {
            var isTop = _nextIsMessageTop;
            _nextIsMessageTop = false;
            if (_ignoring > 0)
            {
                _ignoring++;
                return;
            }
            var node = new Node { Kind = kind, HeaderBegin = _pending.Begin, HeaderEnd = _pending.End, IsMessageTop = isTop, Fields = _pending };
            _pending = new Fields { Begin = node.HeaderEnd, End = node.HeaderEnd };
            var parent = _open.Count > 0 ? _open.Peek() : null;
            if (parent is null)
                Root = node;
            else if (++_parts > limits.MaxParts)
            {
                // One part too many: the innermost open multipart keeps its bytes as one opaque leaf.
                // The parts open inside it end unseen: this one and each of them (hence 2 + those).
                var multipart = _open.First(n => n.Kind != BodyPartKind.Leaf);
                multipart.Opaque = true;
                multipart.Children.Clear();
                multipart.Message = null;
                var inside = 0;
                for (; _open.Peek() != multipart; inside++)
                    _open.Pop();
                _ignoring = 2 + inside;
                return;
            }
            else if (parent.Kind == BodyPartKind.Multipart)
                parent.Children.Add(node);
            else
                parent.Message = node;
            _open.Push(node);
            if (encapsulates && kind != BodyPartKind.Message)
                _ignoring = 1; // message/partial, message/external-body...: a leaf, what MimeKit reads inside is not parts
        }

        private void End(long headersEnd, long end)
        {
            if (_ignoring > 1)
            {
                _ignoring--;
                return;
            }
            _ignoring = 0;
            var node = _open.Pop();
            node.BodyOffset = headersEnd;
            node.BodyEnd = end;
        }
    }
}
