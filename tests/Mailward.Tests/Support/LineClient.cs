// A line protocol (SMTP, POP3, IMAP) over a real socket for the tests that talk it by hand: one
// command, its reply, SMTP's multi-line replies joined by newlines (RFC 5321 §4.2.1).
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mailward.Tests.Support;

public sealed class LineClient : IDisposable
{
    private readonly TcpClient _tcp = new();
    private NetworkStream _s = null!;
    private ReplyReader _r = null!;

    public static async Task<(LineClient Line, string Greeting)> OpenAsync(int port)
    {
        var l = new LineClient();
        try
        {
            await l._tcp.ConnectAsync(IPAddress.Loopback, port);
            l._s = l._tcp.GetStream();
            l._r = new ReplyReader(l._s);
            return (l, await l.ReadAsync());
        }
        catch
        {
            l.Dispose();
            throw;
        }
    }

    public async Task<string> SendAsync(string command)
    {
        await _s.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
        return await ReadAsync();
    }

    public async Task<string> ReadAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await _r.ReadLineAsync() ?? "<closed>";
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
                return string.Join("\n", lines);
        }
    }

    public void Dispose() => _tcp.Dispose();
}
