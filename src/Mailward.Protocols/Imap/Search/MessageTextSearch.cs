// BODY and TEXT (RFC 9051 §6.4.4) over a raw message stream, with bounded memory: MimeKit's
// MimeReader walks the message as events, text/* parts are decoded from quoted-printable or base64
// and from their charset as they stream past, folded (SearchText.Fold) and searched for every
// needle at once; the last (longest needle - 1) characters are carried over so a needle that spans
// two reads is found. Scanning stops as soon as every needle is found. Not searched: non-text
// parts (attachments, images), MIME preambles and epilogues, uuencoded text, and the text inside
// HTML is matched with its markup. Header fields are matched one at a time, decoded from RFC 2047.
using System.Buffers;
using System.Text;
using MimeKit;
using MimeKit.Encodings;

namespace Mailward.Protocols.Imap.Search;

/// <summary>A folded search string (SearchText.Fold); <see cref="HeadersToo"/> for TEXT, which also searches header fields.</summary>
public readonly record struct TextNeedle(string Folded, bool HeadersToo);

public static class MessageTextSearch
{
    /// <summary>For each needle, whether the message contains it (BODY: in the decoded text parts and in the
    /// header fields of attached messages; TEXT: besides, in every header field).</summary>
    public static async ValueTask<bool[]> FindAsync(Stream message, IReadOnlyList<TextNeedle> needles, CancellationToken ct = default)
    {
        var scanner = new Scanner(message, needles);
        try
        {
            if (scanner.Remaining > 0)
                await scanner.ReadMessageAsync(ct);
        }
        catch (AllFoundException)
        {
            // every needle was found: the rest of the message need not be read
        }
        finally
        {
            scanner.ReturnBuffers();
        }
        return scanner.Found;
    }

    /// <summary>As <see cref="FindAsync"/>, for a message in memory: MimeKit's synchronous reader, without
    /// the tasks its asynchronous one makes for every block, and one scanner per thread, set to each
    /// message in turn (a SEARCH scans message after message; a new reader each time was 4 KB of
    /// buffer and a copy of the parser options).</summary>
    public static bool[] Find(MemoryStream message, IReadOnlyList<TextNeedle> needles, CancellationToken ct = default)
    {
        var scanner = t_scanner ?? new Scanner(Stream.Null);
        t_scanner = null; // taken while in use
        scanner.Start(message, needles);
        try
        {
            if (scanner.Remaining > 0)
                scanner.ReadMessage(ct);
        }
        catch (AllFoundException)
        {
            // every needle was found: the rest of the message need not be read
        }
        finally
        {
            scanner.Finish();
            t_scanner = scanner;
        }
        return scanner.Found;
    }

    [ThreadStatic]
    private static Scanner? t_scanner;

    private sealed class AllFoundException : Exception;

    private sealed class Scanner : MimeReader
    {
        private IReadOnlyList<TextNeedle> _needles = [];
        private int _carry;
        // Rented, not made: a SEARCH TEXT scans message after message, and 24 KB of fresh buffers each
        // were most of what it allocated (a young-generation collection every few hundred messages).
        private char[] _work = ArrayPool<char>.Shared.Rent(DefaultBuffer);
        private byte[] _decoded = ArrayPool<byte>.Shared.Rent(DefaultBuffer);
        private char[] _field = ArrayPool<char>.Shared.Rent(1024); // one header field, folded
        private bool _anyInHeaders; // a TEXT needle: every header field is searched
        private int _tail; // folded characters carried over from the previous read, at the start of _work
        private bool _nextBlockIsMessage;
        private int _blocks;
        private bool _bodyHeaders; // the current header block belongs to an attached message: BODY searches it too
        private string? _transferEncoding;
        private IMimeDecoder? _binary;
        private Decoder? _text;

        private const int DefaultBuffer = 8192;

        public Scanner(Stream stream, IReadOnlyList<TextNeedle> needles) : base(stream) => Start(stream, needles);

        /// <summary>A scanner for <see cref="Start"/> to set to one message after another.</summary>
        public Scanner(Stream stream) : base(stream)
        {
        }

        /// <summary>Sets the scanner to <paramref name="stream"/>'s message and <paramref name="needles"/>, every state of the last scan dropped.</summary>
        public void Start(Stream stream, IReadOnlyList<TextNeedle> needles)
        {
            SetStream(stream);
            (_needles, _carry, _tail, _nextBlockIsMessage, _blocks, _bodyHeaders) = (needles, 0, 0, true, 0, false);
            (_transferEncoding, _binary, _text) = (null, null, null);
            Found = new bool[needles.Count];
            for (var i = 0; i < needles.Count; i++)
            {
                if (needles[i].Folded.Length == 0)
                    Found[i] = true;
                _carry = Math.Max(_carry, needles[i].Folded.Length - 1);
            }
            Remaining = Found.Count(f => !f);
            _anyInHeaders = needles.Any(n => n.HeadersToo);
        }

        /// <summary>Lets go of the message (and of a buffer a large part grew), keeping the scanner for the next.</summary>
        public void Finish()
        {
            SetStream(Stream.Null);
            (_needles, _binary, _text) = ([], null, null);
            if (_work.Length > 4 * DefaultBuffer)
                Replace(ref _work, DefaultBuffer);
            if (_decoded.Length > 4 * DefaultBuffer)
                Replace(ref _decoded, DefaultBuffer);
            if (_field.Length > 4 * DefaultBuffer)
                Replace(ref _field, 1024);
        }

        /// <summary>Gives <paramref name="buffer"/> back to the pool and rents one of <paramref name="size"/> in its place (its contents are not kept).</summary>
        private static void Replace<T>(ref T[] buffer, int size)
        {
            ArrayPool<T>.Shared.Return(buffer);
            buffer = ArrayPool<T>.Shared.Rent(size);
        }

        public bool[] Found { get; private set; } = [];

        public int Remaining { get; private set; }

        protected override void OnMessagePartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) =>
            _nextBlockIsMessage = true;

        protected override Task OnMessagePartBeginAsync(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken)
        {
            _nextBlockIsMessage = true;
            return Task.CompletedTask;
        }

        protected override void OnHeadersBegin(long beginOffset, int beginLineNumber, CancellationToken cancellationToken) => HeadersBegin();

        protected override Task OnHeadersBeginAsync(long beginOffset, int beginLineNumber, CancellationToken cancellationToken)
        {
            HeadersBegin();
            return Task.CompletedTask;
        }

        private void HeadersBegin()
        {
            _bodyHeaders = _nextBlockIsMessage && _blocks > 0;
            _nextBlockIsMessage = false;
            _blocks++;
            _transferEncoding = null;
        }

        protected override void OnHeaderRead(Header header, int beginLineNumber, CancellationToken cancellationToken) => HeaderRead(header);

        protected override Task OnHeaderReadAsync(Header header, int beginLineNumber, CancellationToken cancellationToken)
        {
            HeaderRead(header);
            return Task.CompletedTask;
        }

        private void HeaderRead(Header header)
        {
            if (header.Id == HeaderId.ContentTransferEncoding)
                _transferEncoding = header.Value.Trim().ToUpperInvariant();
            if (!_bodyHeaders && !_anyInHeaders)
                return;
            // "Field: value", folded into a kept buffer rather than two new strings per header field.
            var (field, value) = (header.Field, header.Value);
            var length = field.Length + 2 + value.Length;
            if (_field.Length < length)
                Replace(ref _field, length);
            var raw = _field.AsSpan(0, length);
            field.CopyTo(raw);
            ": ".CopyTo(raw[field.Length..]);
            value.CopyTo(raw[(field.Length + 2)..]);
            ReadOnlySpan<char> text = raw;
            if (!SearchText.TryFoldAscii(raw))
                text = SearchText.Fold(raw.ToString()); // not ASCII: a string, as before (the ASCII part folded already is left as it is)
            for (var i = 0; i < _needles.Count; i++)
            {
                if (!Found[i] && (_needles[i].HeadersToo || _bodyHeaders) && text.Contains(_needles[i].Folded, StringComparison.Ordinal))
                    Hit(i);
            }
        }

        protected override void OnMimePartBegin(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken) => PartBegin(contentType);

        protected override Task OnMimePartBeginAsync(ContentType contentType, long beginOffset, int beginLineNumber, CancellationToken cancellationToken)
        {
            PartBegin(contentType);
            return Task.CompletedTask;
        }

        private void PartBegin(ContentType contentType)
        {
            _tail = 0;
            if (!contentType.IsMimeType("text", "*"))
            {
                _text = null;
                return;
            }
            _text = SearchText.EncodingFor(contentType.Charset).GetDecoder();
            _binary = _transferEncoding switch
            {
                "QUOTED-PRINTABLE" => new QuotedPrintableDecoder(),
                "BASE64" => new Base64Decoder(),
                _ => null,
            };
        }

        protected override void OnMimePartContentRead(byte[] content, int startIndex, int count, CancellationToken cancellationToken) => ContentRead(content, startIndex, count);

        protected override Task OnMimePartContentReadAsync(byte[] content, int startIndex, int count, CancellationToken cancellationToken)
        {
            ContentRead(content, startIndex, count);
            return Task.CompletedTask;
        }

        private void ContentRead(byte[] content, int start, int count)
        {
            if (_text is null || count == 0)
                return;
            if (_binary is not null)
            {
                var need = _binary.EstimateOutputLength(count);
                if (_decoded.Length < need)
                    Replace(ref _decoded, need);
                count = _binary.Decode(content, start, count, _decoded);
                content = _decoded;
                start = 0;
            }
            var chars = _text.GetCharCount(content, start, count, flush: false);
            if (_work.Length < _tail + chars * 2)
            {
                var larger = ArrayPool<char>.Shared.Rent(_tail + chars * 2);
                _work.AsSpan(0, _tail).CopyTo(larger);
                ArrayPool<char>.Shared.Return(_work);
                _work = larger;
            }
            // decode into the upper half, fold into place after the carried tail
            var raw = _work.AsSpan(_tail + chars, chars);
            _text.GetChars(content.AsSpan(start, count), raw, flush: false);
            // ASCII text (most mail) folds vectorized; otherwise the invariant mapping (a loop with invariant globalization).
            var length = _tail + (Ascii.ToUpper(raw, _work.AsSpan(_tail, chars), out var folded) == OperationStatus.Done
                ? folded : ((ReadOnlySpan<char>)raw).ToUpperInvariant(_work.AsSpan(_tail, chars)));
            var window = _work.AsSpan(0, length);
            for (var i = 0; i < _needles.Count; i++)
            {
                if (!Found[i] && window.IndexOf(_needles[i].Folded, StringComparison.Ordinal) >= 0)
                    Hit(i);
            }
            var keep = Math.Min(_carry, length);
            window[(length - keep)..].CopyTo(_work);
            _tail = keep;
        }

        /// <summary>Gives the rented buffers back: the scanner is not used again.</summary>
        public void ReturnBuffers()
        {
            ArrayPool<char>.Shared.Return(_work);
            ArrayPool<byte>.Shared.Return(_decoded);
            ArrayPool<char>.Shared.Return(_field);
            (_work, _decoded, _field) = ([], [], []);
        }

        private void Hit(int i)
        {
            Found[i] = true;
            if (--Remaining == 0)
                throw new AllFoundException();
        }
    }
}
