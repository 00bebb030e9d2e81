// A raw IMAP client for the differential tests: one command at a time, every response byte kept
// (literals included), so Dovecot's answers can be compared byte for byte with Mailward's.
using System.Net.Sockets;
using System.Text;

namespace Mailward.Tests.Imap;

public sealed class StructureImapClient : IDisposable
{
    private readonly TcpClient _tcp = new();
    private readonly Stream _stream;
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _start, _end;
    private int _tag;

    public StructureImapClient(int port)
    {
        _tcp.Connect("127.0.0.1", port);
        _stream = _tcp.GetStream();
        _stream.ReadTimeout = 20000;
        ReadLine(); // greeting
    }

    /// <summary>Sends a command; returns its untagged responses (each with literals inlined) and the tagged line.</summary>
    public (List<byte[]> Untagged, string Tagged) Command(string command)
    {
        var tag = $"t{++_tag}";
        _stream.Write(Encoding.ASCII.GetBytes($"{tag} {command}\r\n"));
        var untagged = new List<byte[]>();
        while (true)
        {
            var response = ReadResponse();
            var text = Encoding.Latin1.GetString(response);
            if (text.StartsWith(tag + " ", StringComparison.Ordinal))
                return (untagged, text.TrimEnd());
            untagged.Add(response);
        }
    }

    /// <summary>One response: a line, and for each literal it announces the literal and the rest of the line.</summary>
    private byte[] ReadResponse()
    {
        var all = new List<byte>();
        while (true)
        {
            var line = ReadLine();
            all.AddRange(line);
            var text = Encoding.Latin1.GetString(line);
            if (!text.EndsWith("}\r\n", StringComparison.Ordinal))
                return [.. all];
            var open = text.LastIndexOf('{');
            var n = int.Parse(text.AsSpan(open + 1, text.Length - open - 4), System.Globalization.CultureInfo.InvariantCulture);
            all.AddRange(ReadExactly(n));
        }
    }

    private byte[] ReadLine()
    {
        var line = new List<byte>();
        while (true)
        {
            if (_start == _end)
                Fill();
            var lf = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            var take = lf < 0 ? _end : lf + 1;
            line.AddRange(_buffer.AsSpan(_start, take - _start).ToArray());
            _start = take;
            if (lf >= 0)
                return [.. line];
        }
    }

    private byte[] ReadExactly(int n)
    {
        var bytes = new byte[n];
        var got = 0;
        while (got < n)
        {
            if (_start == _end)
                Fill();
            var take = Math.Min(n - got, _end - _start);
            Array.Copy(_buffer, _start, bytes, got, take);
            (_start, got) = (_start + take, got + take);
        }
        return bytes;
    }

    private void Fill()
    {
        _start = 0;
        _end = _stream.Read(_buffer);
        if (_end == 0)
            throw new IOException("the IMAP server closed the connection");
    }

    public void Dispose() => _tcp.Dispose();
}
