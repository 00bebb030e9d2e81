// A scripted receiving SMTP server for remote-delivery tests: a real listener on loopback that
// speaks enough RFC 5321 (EHLO with PIPELINING, SIZE and 8BITMIME, MAIL, RCPT, DATA, RSET, QUIT)
// for Mailward's client, answers RCPT and the end of DATA as the test says, and records what
// arrived, byte for byte (dot-unstuffed). It can also play a tarpit: greet late or never, answer
// slowly, or greet with a name the test chooses (the sender's own, for loop tests).
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mailward.Tests.Support;

public sealed record ReceivedMail(string Sender, IReadOnlyList<string> Recipients, byte[] Data, int Connection, string MailCommand, bool Tls = false);

public sealed class TestMta : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _connections;
    private int _open;
    private int _mostOpen;

    public ConcurrentQueue<ReceivedMail> Received { get; } = new();

    /// <summary>The reply to RCPT TO for an address; default 250.</summary>
    public Func<string, string> RcptReply { get; set; } = _ => "250 2.1.5 ok";

    /// <summary>The reply after the final dot, given how many DATA phases came before; default 250.</summary>
    public Func<int, string> DataReply { get; set; } = _ => "250 2.0.0 ok queued";

    private int _dataPhases;

    /// <summary>Offers STARTTLS, says 220, then drops the connection: a broken TLS setup.</summary>
    public bool BrokenStartTls { get; set; }

    /// <summary>When set, offers STARTTLS and really starts TLS with this certificate.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2? Certificate { get; set; }

    /// <summary>How long before the 220; Timeout.InfiniteTimeSpan: never (a tarpit that only accepts).</summary>
    public TimeSpan GreetingDelay { get; set; } = TimeSpan.Zero;

    /// <summary>A pause before every reply after the greeting (a trickling tarpit).</summary>
    public TimeSpan ReplyDelay { get; set; } = TimeSpan.Zero;

    /// <summary>The name in the greeting and the EHLO reply.</summary>
    public string Name { get; set; } = "testmta.test";

    public int Connections => _connections;

    /// <summary>Connections open now, and the most that were ever open at once.</summary>
    public int Open => Volatile.Read(ref _open);
    public int MostOpen => Volatile.Read(ref _mostOpen);
    public int DataPhases => _dataPhases;
    public string Endpoint => $"{((IPEndPoint)_listener.LocalEndpoint).Address}:{Port}";
    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Listens on <paramref name="address"/> (127.0.0.1 unless given) and <paramref name="port"/> (any free one unless given).</summary>
    public TestMta(string address = "127.0.0.1", int port = 0)
    {
        _listener = new TcpListener(IPAddress.Parse(address), port);
        _listener.Start();
        _accept = Task.Run(AcceptAsync);
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                return; // stopped; InvalidOperationException when the stop came between the loop's check and the accept
            }
            var n = Interlocked.Increment(ref _connections);
            _ = Task.Run(() => SessionAsync(client, n));
        }
    }

    private async Task SessionAsync(TcpClient client, int connection)
    {
        using var _ = client;
        var open = Interlocked.Increment(ref _open);
        for (var most = _mostOpen; open > most; most = _mostOpen)
            Interlocked.CompareExchange(ref _mostOpen, open, most);
        try
        {
            Stream stream = client.GetStream();
            var reader = new LineReader(stream);
            var tls = false;
            var greeted = false;
            async Task Say(string line)
            {
                if (greeted && ReplyDelay > TimeSpan.Zero)
                    await Task.Delay(ReplyDelay, _stop.Token);
                await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
            }
            if (GreetingDelay != TimeSpan.Zero)
                await DelayUnlessClosedAsync(client, GreetingDelay);
            await Say($"220 {Name} ESMTP");
            greeted = true;
            string sender = "", mail = "";
            var recipients = new List<string>();
            while (await reader.ReadLineAsync() is { } line)
            {
                var verb = line.Split(' ')[0].ToUpperInvariant();
                switch (verb)
                {
                    case "EHLO":
                        await Say($"250-{Name}\r\n250-PIPELINING\r\n250-SIZE 10485760\r\n" + (BrokenStartTls || (Certificate is not null && !tls) ? "250-STARTTLS\r\n" : "") + "250 8BITMIME");
                        break;
                    case "STARTTLS" when Certificate is not null:
                        await Say("220 go ahead");
                        var ssl = new System.Net.Security.SslStream(stream);
                        await ssl.AuthenticateAsServerAsync(Certificate);
                        (stream, reader, tls) = (ssl, new LineReader(ssl), true);
                        break;
                    case "STARTTLS":
                        await Say("220 go ahead");
                        return; // and no TLS follows

                    case "HELO":
                        await Say($"250 {Name}");
                        break;
                    case "MAIL":
                        mail = line;
                        sender = Between(line);
                        recipients.Clear();
                        await Say("250 2.1.0 ok");
                        break;
                    case "RCPT":
                        var reply = RcptReply(Between(line));
                        if (reply.StartsWith('2'))
                            recipients.Add(Between(line));
                        await Say(reply);
                        break;
                    case "DATA":
                        if (recipients.Count == 0)
                        {
                            await Say("554 5.5.1 no valid recipients");
                            break;
                        }
                        await Say("354 go ahead");
                        if (await reader.ReadDataAsync() is not { } data)
                            return; // a client killed mid-message delivered nothing
                        var phase = Interlocked.Increment(ref _dataPhases) - 1;
                        var final = DataReply(phase);
                        if (final.StartsWith('2'))
                            Received.Enqueue(new ReceivedMail(sender, [.. recipients], data, connection, mail, tls));
                        await Say(final);
                        break;
                    case "RSET":
                        recipients.Clear();
                        await Say("250 ok");
                        break;
                    case "QUIT":
                        await Say("221 bye");
                        return;
                    default:
                        await Say("502 5.5.2 unknown command");
                        break;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    /// <summary>Waits <paramref name="delay"/>, or until the client hangs up (then the session ends).</summary>
    private async Task DelayUnlessClosedAsync(TcpClient client, TimeSpan delay)
    {
        var until = delay == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + delay;
        while (DateTime.UtcNow < until)
        {
            if (client.Client.Poll(0, SelectMode.SelectRead) && client.Client.Available == 0)
                throw new IOException("the client hung up before the greeting");
            await Task.Delay(20, _stop.Token);
        }
    }

    private static string Between(string line)
    {
        var open = line.IndexOf('<');
        var close = line.IndexOf('>', open + 1);
        return open >= 0 && close > open ? line[(open + 1)..close] : "";
    }

    /// <summary>Waits until <paramref name="count"/> messages have arrived.</summary>
    public async Task WaitForAsync(int count, int seconds = 20)
    {
        for (var i = 0; i < seconds * 20 && Received.Count < count; i++)
            await Task.Delay(50);
        Assert.True(Received.Count >= count, $"the test MTA received {Received.Count} messages, expected {count}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        _stop.Dispose();
    }

    private sealed class LineReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[65536];
        private int _start, _end;

        private async Task<byte[]?> ReadRawLineAsync()
        {
            var line = new List<byte>();
            while (true)
            {
                if (_start == _end)
                {
                    _start = 0;
                    _end = await stream.ReadAsync(_buffer);
                    if (_end == 0)
                        return null;
                }
                var b = _buffer[_start++];
                line.Add(b);
                if (b == '\n')
                    return [.. line];
            }
        }

        public async Task<string?> ReadLineAsync() =>
            await ReadRawLineAsync() is { } raw ? Encoding.UTF8.GetString(raw).TrimEnd('\r', '\n') : null;

        /// <summary>The DATA content up to the lone dot, with dot-stuffing removed (RFC 5321 §4.5.2); null when the client vanished first.</summary>
        public async Task<byte[]?> ReadDataAsync()
        {
            var data = new MemoryStream();
            while (await ReadRawLineAsync() is { } raw)
            {
                if (raw.AsSpan().SequenceEqual(".\r\n"u8))
                    return data.ToArray();
                data.Write(raw, raw[0] == '.' ? 1 : 0, raw[0] == '.' ? raw.Length - 1 : raw.Length);
            }
            return null;
        }
    }
}
