// Reads a server's CRLF-terminated reply lines from a stream, as octets (Latin-1): the transcript
// harness and every test that talks a line protocol by hand use it. Bounded by a timeout per line.
using System.Text;

namespace Mailward.Tests.Support;

public sealed class ReplyReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    /// <summary>Octets read and not yet returned as lines.</summary>
    public int Buffered => _end - _start;

    /// <summary>The next line without its line end; null at the end of the stream.</summary>
    public async Task<string?> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var lf = _buffer.AsSpan(_start, _end - _start).IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = Encoding.Latin1.GetString(_buffer, _start, lf).TrimEnd('\r');
                _start += lf + 1;
                return line;
            }
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int n;
            try
            {
                n = await stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
            }
            catch (IOException)
            {
                n = 0;
            }
            if (n == 0)
                return null;
            _end += n;
        }
    }
}
