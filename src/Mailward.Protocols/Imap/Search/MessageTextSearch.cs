// BODY and TEXT (RFC 9051 §6.4.4) over a raw message stream, with bounded memory: MimeKit's
// MimeReader walks the message as events, text/* parts are decoded from quoted-printable or base64
// and from their charset as they stream past, folded (SearchText.Fold) and searched for every
// needle at once; the last (longest needle - 1) characters are carried over so a needle that spans
// two reads is found. Scanning stops as soon as every needle is found. Not searched: non-text
// parts (attachments, images), MIME preambles and epilogues, uuencoded text, and the text inside
// HTML is matched with its markup. Header fields are matched one at a time, decoded from RFC 2047.
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
        if (scanner.Remaining == 0)
            return scanner.Found;
        try
        {
            await scanner.ReadMessageAsync(ct);
        }
        catch (AllFoundException)
        {
            // every needle was found: the rest of the message need not be read
        }
        return scanner.Found;
    }

    private sealed class AllFoundException : Exception;

    private sealed class Scanner : MimeReader
    {
        private readonly IReadOnlyList<TextNeedle> _needles;
        private readonly int _carry;
        private char[] _work = new char[8192];
        private byte[] _decoded = new byte[8192];
        private int _tail; // folded characters carried over from the previous read, at the start of _work
        private bool _nextBlockIsMessage = true;
        private int _blocks;
        private bool _bodyHeaders; // the current header block belongs to an attached message: BODY searches it too
        private string? _transferEncoding;
        private IMimeDecoder? _binary;
        private Decoder? _text;

        public Scanner(Stream stream, IReadOnlyList<TextNeedle> needles) : base(stream)
        {
            _needles = needles;
            Found = new bool[needles.Count];
            for (var i = 0; i < needles.Count; i++)
            {
                if (needles[i].Folded.Length == 0)
                    Found[i] = true;
                _carry = Math.Max(_carry, needles[i].Folded.Length - 1);
            }
            Remaining = Found.Count(f => !f);
        }

        public bool[] Found { get; }

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
            var text = SearchText.Fold(header.Field + ": " + header.Value);
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
                    _decoded = new byte[need];
                count = _binary.Decode(content, start, count, _decoded);
                content = _decoded;
                start = 0;
            }
            var chars = _text.GetCharCount(content, start, count, flush: false);
            if (_work.Length < _tail + chars * 2)
                Array.Resize(ref _work, _tail + chars * 2);
            // decode into the upper half, fold into place after the carried tail
            var raw = _work.AsSpan(_tail + chars, chars);
            _text.GetChars(content.AsSpan(start, count), raw, flush: false);
            var length = _tail + ((ReadOnlySpan<char>)raw).ToUpperInvariant(_work.AsSpan(_tail, chars));
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

        private void Hit(int i)
        {
            Found[i] = true;
            if (--Remaining == 0)
                throw new AllFoundException();
        }
    }
}
