// A POP3 server session (RFC 1939) as a state machine over a byte stream: AUTHORIZATION (USER/PASS,
// APOP, AUTH PLAIN of RFC 5034, STLS of RFC 2595, CAPA of RFC 2449), TRANSACTION (STAT, LIST, RETR,
// DELE, NOOP, RSET, TOP, UIDL) and UPDATE at QUIT. Replies are flushed before each read, so a
// pipelining client (RFC 2449 PIPELINING) gets its answers in one write. No sockets, no files: the
// mailbox and the logins come from Core.
using System.Buffers;
using System.Net;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Pop3;

public sealed record Pop3SessionInfo(string SessionId, IPAddress ClientAddress, IPAddress? ServerAddress)
{
    public Func<Stream, CancellationToken, Task<(Stream Stream, string Description)>>? StartTls { get; init; }
    public string? TlsDescription { get; init; }
}

public sealed partial class Pop3Session(Pop3Options options, LoginService logins, ILogger logger, TimeProvider? time = null)
{
    private const int MaxLine = 512; // RFC 2449 §4: 255 octets per command; room for AUTH PLAIN
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly byte[] _in = new byte[4096];
    private readonly ArrayBufferWriter<byte> _out = new(1024);
    private int _start, _end;
    private Stream _stream = Stream.Null;
    private Pop3SessionInfo _info = null!;
    private string? _tls;
    private string? _user;
    private string _timestamp = "";
    private int _badCommands;
    private string? _closeReason; // why the session ends when it is not the client's QUIT
    private MaildirMailbox? _mailbox;
    private readonly HashSet<int> _deleted = [];
    private string _address = "";
    private string _client = "";

    private bool PlaintextAllowed => _tls is not null || options.AllowPlaintextAuth switch
    {
        PlaintextAuth.Always => true,
        PlaintextAuth.Loopback => IPAddress.IsLoopback(_info.ClientAddress),
        _ => false,
    };

    public async Task RunAsync(Stream stream, Pop3SessionInfo info, CancellationToken ct)
    {
        _stream = stream;
        _info = info;
        _tls = info.TlsDescription;
        _timestamp = $"<{info.SessionId}.{_time.GetUtcNow().ToUnixTimeSeconds()}@{options.Hostname}>";
        var end = "closed";
        _client = info.ClientAddress.ToString();
        Pop3Log.SessionStarted(logger, info.SessionId, _client);
        try
        {
            Reply($"+OK Mailward POP3 ready{(options.ApopOffered ? " " + _timestamp : "")}");
            while (true)
            {
                var line = await ReadLineAsync(ct);
                if (line is null)
                {
                    end = _closeReason ?? "client disconnected"; // no UPDATE: nothing is deleted (RFC 1939 §6)
                    break;
                }
                if (!await HandleAsync(line, ct))
                {
                    end = _closeReason ?? "quit";
                    break;
                }
            }
            await FlushAsync(ct);
        }
        catch (TimeoutException)
        {
            end = "timeout";
            await TryReplyAsync("-ERR autologout: idle too long");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            end = "server shutdown";
            await TryReplyAsync("-ERR [SYS/TEMP] server shutting down");
        }
        catch (IOException e)
        {
            end = "connection lost: " + e.Message;
        }
        finally
        {
            _mailbox?.Dispose();
            Pop3Log.SessionEnded(logger, info.SessionId, _address, end);
        }
    }

    private async Task<bool> HandleAsync(string line, CancellationToken ct)
    {
        var space = line.IndexOf(' ');
        var verb = (space < 0 ? line : line[..space]).ToUpperInvariant();
        var arg = space < 0 ? "" : line[(space + 1)..];
        if (_mailbox is null)
            return await AuthorizationAsync(verb, arg, ct);
        return await TransactionAsync(verb, arg, ct);
    }

    /// <summary>Answers a refused command; false (close) when it was one too many.</summary>
    private bool Bad(string reply)
    {
        // Too many errors: a scanner, a password guesser or a broken client, not a person.
        if (++_badCommands >= options.MaxBadCommands)
        {
            Reply("-ERR too many bad commands; closing connection");
            _closeReason = "too many bad commands";
            return false;
        }
        Reply(reply);
        return true;
    }

    private void Reply(string line)
    {
        var count = Encoding.UTF8.GetByteCount(line);
        Encoding.UTF8.GetBytes(line, _out.GetSpan(count + 2));
        _out.Advance(count);
        _out.Write("\r\n"u8);
    }

    private async Task FlushAsync(CancellationToken ct)
    {
        if (_out.WrittenCount == 0)
            return;
        await _stream.WriteAsync(_out.WrittenMemory, ct);
        await _stream.FlushAsync(ct);
        _out.Clear();
    }

    private async Task TryReplyAsync(string line)
    {
        try
        {
            Reply(line);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _stream.WriteAsync(_out.WrittenMemory, cts.Token);
            _out.Clear();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or NotSupportedException)
        {
        }
    }

    /// <summary>One command line; null at end of stream. Overlong lines are discarded and answered.</summary>
    private async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        var discarding = false;
        while (true)
        {
            var lf = Array.IndexOf(_in, (byte)'\n', _start, _end - _start);
            if (lf >= 0)
            {
                var length = lf - _start;
                if (length > 0 && _in[lf - 1] == (byte)'\r')
                    length--;
                var line = Encoding.UTF8.GetString(_in, _start, Math.Min(length, MaxLine));
                discarding |= length > MaxLine;
                _start = lf + 1;
                if (!discarding)
                    return line;
                discarding = false;
                if (!Bad("-ERR line too long"))
                    return null;
                await FlushAsync(ct);
                continue;
            }
            if (_end - _start >= MaxLine)
            {
                discarding = true;
                _start = _end = 0;
            }
            if (_start > 0)
            {
                Buffer.BlockCopy(_in, _start, _in, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            // Replies go out only before a read that could block: pipelined commands get theirs in one write.
            await FlushAsync(ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(options.CommandTimeout);
            int n;
            try
            {
                n = await _stream.ReadAsync(_in.AsMemory(_end), timeout.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new TimeoutException();
            }
            if (n == 0)
                return null;
            _end += n;
        }
    }
}

public enum PlaintextAuth
{
    Never,
    Loopback,
    Always,
}

public sealed record Pop3Options
{
    public required string Hostname { get; init; }
    public PlaintextAuth AllowPlaintextAuth { get; init; } = PlaintextAuth.Loopback;
    public bool ApopOffered { get; init; }
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromMinutes(10);
    public TimeSpan FailedLoginDelay { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan LockStaleAfter { get; init; } = TimeSpan.FromMinutes(30);
    public int MaxBadCommands { get; init; } = 20;
}
