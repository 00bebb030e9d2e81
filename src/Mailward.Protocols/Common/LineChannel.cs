// The line channel every text protocol shares, written once: commands are read into one fixed
// buffer with a bound on the line (an overlong line is discarded as it streams, never held);
// replies are buffered and flushed only before a read that could block, so pipelined commands get
// their answers in one write (RFC 2920, RFC 2449); every read waits at most the command timeout
// (an IMAP IDLE's wait for input, WaitForInputAsync, has none: the session keeps that time).
// Bytes after a line (SMTP DATA, an IMAP literal) are read from the same buffer: Buffered, Consume
// and ReadMoreAsync.
using System.Buffers;
using System.Text;

namespace Mailward.Protocols.Common;

/// <summary>A read waited longer than the command timeout (or the data rate fell below its minimum).</summary>
public sealed class ChannelTimeoutException(string message) : TimeoutException(message);

public sealed class LineChannel
{
    /// <summary>What ReadLineAsync returns for a line over the limit (compare by reference).</summary>
    public static readonly string LongLine = new("\0long");

    private byte[] _in;
    private readonly int _initialSize;
    private readonly int _capacity;
    private ArrayBufferWriter<byte> _out = new(1024);
    private readonly Encoding _encoding;
    private readonly int _maxLine;
    private int _start;
    private int _end;
    private bool _discardingLongLine;

    /// <param name="bufferSize">The input buffer while idle; it grows (to the longest line) only while a long line or a literal is
    /// read, and shrinks back when emptied; an IMAP IDLE wait holds none (WaitForInputAsync).</param>
    /// <param name="maxLine">The longest line read, in octets with its line end; longer ones are discarded and answered.</param>
    /// <param name="encoding">How lines and replies become bytes: Latin-1 keeps every octet (SMTP), UTF-8 for text (POP3).</param>
    public LineChannel(Stream stream, int bufferSize, int maxLine, TimeSpan commandTimeout, Encoding encoding)
    {
        Stream = stream;
        _initialSize = bufferSize;
        _capacity = Math.Max(bufferSize, maxLine + 1);
        _in = new byte[bufferSize];
        _maxLine = maxLine;
        CommandTimeout = commandTimeout;
        _encoding = encoding;
    }

    /// <summary>How long a command line may take; IMAP lengthens it after the login (autologout).</summary>
    public TimeSpan CommandTimeout { get; set; }

    /// <summary>The connection; replaced by its TLS stream after STARTTLS or STLS.</summary>
    public Stream Stream { get; set; }

    /// <summary>The reply buffer, for replies written as bytes (a message's text).</summary>
    public ArrayBufferWriter<byte> Output => _out;

    /// <summary>The input buffer's size now (0 during an idle wait), for tests.</summary>
    internal int InputCapacity => _in.Length;

    /// <summary>Input read and not yet consumed.</summary>
    public ReadOnlySpan<byte> Buffered => _in.AsSpan(_start, _end - _start);

    public void Consume(int count) => _start += count;

    /// <summary>Forgets what the client sent ahead: after STARTTLS nothing from before may count (RFC 3207 §4.2, RFC 2595 §4).</summary>
    public void DiscardBuffered()
    {
        _start = _end = 0;
        _discardingLongLine = false;
    }

    public void Reply(string line)
    {
        var count = _encoding.GetByteCount(line);
        _encoding.GetBytes(line, _out.GetSpan(count + 2));
        _out.Advance(count);
        _out.Write("\r\n"u8);
    }

    public async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_out.WrittenCount == 0)
            return;
        await Stream.WriteAsync(_out.WrittenMemory, ct);
        await Stream.FlushAsync(ct);
        _out.ResetWrittenCount();
    }

    /// <summary>
    /// Lets go of the reply buffer once it is flushed (an IMAP IDLE wait, a few KiB per idle session
    /// counts): the next reply starts a small one. Callers must not keep <see cref="Output"/> across it.
    /// </summary>
    public void ReleaseOutput()
    {
        if (_out.WrittenCount == 0 && _out.Capacity > 0)
            _out = new ArrayBufferWriter<byte>();
    }

    /// <summary>A last reply on the way out (timeout, shutdown): within five seconds, or not at all.</summary>
    public async Task TryFinalReplyAsync(string line)
    {
        try
        {
            Reply(line);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await FlushAsync(cts.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or NotSupportedException)
        {
        }
    }

    /// <summary>
    /// The next line without its line end; <see cref="LongLine"/> for one over the limit (discarded,
    /// never buffered); null at end of input. Accepts CRLF, and a bare LF from hand-typed sessions (nc).
    /// Pending replies are flushed first when the line is not here yet.
    /// </summary>
    public async ValueTask<string?> ReadLineAsync(CancellationToken ct)
    {
        // The command timeout covers the whole line, not each read: a client dripping a byte just
        // inside the timeout would otherwise hold its slot for ever (RFC 5321 §4.5.3.2.7 gives
        // the server five minutes per command).
        long started = 0;
        while (true)
        {
            var span = Buffered;
            var lf = span.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = span[..lf];
                _start += lf + 1;
                if (_discardingLongLine || lf + 1 > _maxLine)
                {
                    _discardingLongLine = false;
                    return LongLine;
                }
                if (line.Length > 0 && line[^1] == (byte)'\r')
                    line = line[..^1];
                return _encoding.GetString(line);
            }
            if (_end - _start >= _maxLine)
            {
                // Past the limit with no line end: drop what we have and keep dropping until LF.
                _discardingLongLine = true;
                _start = _end;
            }
            await FlushAsync(ct);
            if (started == 0)
                started = System.Diagnostics.Stopwatch.GetTimestamp();
            var left = CommandTimeout - System.Diagnostics.Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
                throw new ChannelTimeoutException("no complete line within " + CommandTimeout);
            if (await ReadMoreAsync(left, ct) == 0)
                return null;
        }
    }

    /// <summary>Reads more input into the buffer, within the command timeout; 0 at end of input.</summary>
    public ValueTask<int> ReadMoreAsync(CancellationToken ct) => ReadMoreAsync(CommandTimeout, ct);

    /// <summary>As above with another deadline for this read (a data-rate deadline).</summary>
    public async ValueTask<int> ReadMoreAsync(TimeSpan timeout, CancellationToken ct)
    {
        if (_start == _end)
        {
            _start = _end = 0;
            if (_in.Length != _initialSize)
                _in = new byte[_initialSize]; // back from a long line, or from an idle wait that held none
        }
        else if (_end == _in.Length)
        {
            if (_start == 0 && _in.Length < _capacity)
                Array.Resize(ref _in, Math.Min(_capacity, _in.Length * 2));
            else
            {
                Buffer.BlockCopy(_in, _start, _in, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
        }
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            var n = await Stream.ReadAsync(_in.AsMemory(_end), deadline.Token);
            _end += n;
            return n;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new ChannelTimeoutException("no input within " + timeout);
        }
    }

    /// <summary>
    /// A wait for input that holds no buffer, no deadline and no task of its own (an IMAP IDLE: the
    /// caller keeps the time): a zero-byte read of the stream (Kestrel's pipes, the IMAP listeners'
    /// SocketStream, SslStream and DeflateStream support it, and complete it only with input there or
    /// at the end), done at once when input is buffered. Its count says nothing; the octets come with
    /// the next <see cref="ReadMoreAsync(TimeSpan, CancellationToken)"/>.
    /// </summary>
    public ValueTask<int> WaitForInputAsync(CancellationToken ct)
    {
        if (_start < _end)
            return ValueTask.FromResult(_end - _start);
        _start = _end = 0;
        _in = [];
        return Stream.ReadAsync(Memory<byte>.Empty, ct);
    }
}
