// A plain SMTP conversation over a real socket, for attack tests that must send what no polite
// client library would (100 identical RCPTs, forged headers): commands go out as written, replies
// come back whole (multi-line replies joined by newlines).
using System.Net.Sockets;
using System.Text;
using Mailward.Tests.Smtp;

namespace Mailward.Tests.Support;

public sealed class SmtpTalk : IAsyncDisposable
{
    private readonly NetworkStream _stream;
    private readonly ReplyReader _reader;

    private SmtpTalk(NetworkStream stream)
    {
        _stream = stream;
        _reader = new ReplyReader(stream);
    }

    /// <summary>Connects from <paramref name="from"/> (a loopback address), reads the greeting and says EHLO.</summary>
    public static async Task<SmtpTalk> OpenAsync(ServerFixture server, string from = "127.0.0.9")
    {
        var talk = new SmtpTalk(await server.ConnectAsync(from));
        Assert.StartsWith("220 ", await talk.ReplyAsync());
        Assert.StartsWith("250", await talk.SendAsync("EHLO stranger.test"));
        return talk;
    }

    /// <summary>Sends one command and returns its reply.</summary>
    public async Task<string> SendAsync(string command)
    {
        await _stream.WriteAsync(Encoding.Latin1.GetBytes(command + "\r\n"));
        return await ReplyAsync();
    }

    /// <summary>Sends the commands in one write (PIPELINING, RFC 2920) and returns a reply for each.</summary>
    public async Task<List<string>> PipelineAsync(IReadOnlyList<string> commands)
    {
        await _stream.WriteAsync(Encoding.Latin1.GetBytes(string.Concat(commands.Select(c => c + "\r\n"))));
        var replies = new List<string>();
        foreach (var _ in commands)
            replies.Add(await ReplyAsync());
        return replies;
    }

    /// <summary>DATA, the message (CRLF lines, no dot-stuffing needed by the caller's text), the final dot; returns the last reply.</summary>
    public async Task<string> DataAsync(string message)
    {
        var go = await SendAsync("DATA");
        if (!go.StartsWith("354", StringComparison.Ordinal))
            return go;
        var text = message.Replace("\r\n.", "\r\n..", StringComparison.Ordinal);
        return await SendAsync(text.EndsWith("\r\n", StringComparison.Ordinal) ? text + "." : text + "\r\n.");
    }

    public async Task<string> ReplyAsync()
    {
        var lines = new List<string>();
        while (true)
        {
            var line = await _reader.ReadLineAsync() ?? "<closed>";
            lines.Add(line);
            if (line.Length < 4 || line[3] != '-')
                return string.Join("\n", lines);
        }
    }

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();
}
