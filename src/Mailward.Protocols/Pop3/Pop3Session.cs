// A POP3 server session (RFC 1939) as a state machine over a byte stream: AUTHORIZATION (USER/PASS,
// APOP, AUTH PLAIN of RFC 5034, STLS of RFC 2595, CAPA of RFC 2449), TRANSACTION (STAT, LIST, RETR,
// DELE, NOOP, RSET, TOP, UIDL) and UPDATE at QUIT. The line channel flushes replies before each read
// that could block, so a pipelining client (RFC 2449 PIPELINING) gets its answers in one write. No
// sockets, no files: the mailbox and the logins come from Core.
using System.Buffers;
using System.Net;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Locks;
using Mailward.Protocols.Common;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Pop3;

public sealed record Pop3SessionInfo(string SessionId, IPAddress ClientAddress, IPAddress? ServerAddress)
{
    public Func<Stream, CancellationToken, Task<(Stream Stream, string Description)>>? StartTls { get; init; }
    public string? TlsDescription { get; init; }
}

public sealed partial class Pop3Session(Pop3Options options, LoginService logins, IMailStore store, IMailboxLocks locks, ILogger logger,
    TimeProvider? time = null)
{
    private const int MaxLine = 512 + 2; // RFC 2449 §4: 255 octets per command; room for AUTH PLAIN; and CRLF
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private LineChannel _channel = null!;
    private Pop3SessionInfo _info = null!;
    private string? _tls;
    private string? _user;
    private string _timestamp = "";
    private readonly BadCommandLimit _badCommands = new(options.MaxBadCommands);
    private string? _closeReason; // why the session ends when it is not the client's QUIT
    private IMailbox? _mailbox;
    private IMailboxLock? _lock;
    private MailboxEntry[] _messages = [];
    private readonly HashSet<int> _deleted = [];
    private string _address = "";
    private string _client = "";

    private bool PlaintextAllowed => options.AllowPlaintextAuth.Allows(_tls is not null, _info.ClientAddress);

    public async Task RunAsync(Stream stream, Pop3SessionInfo info, CancellationToken ct)
    {
        _channel = new LineChannel(stream, 4096, MaxLine, options.CommandTimeout, Encoding.UTF8);
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
            await _channel.TryFinalReplyAsync("-ERR autologout: idle too long");
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            end = "server shutdown";
            await _channel.TryFinalReplyAsync("-ERR [SYS/TEMP] server shutting down");
        }
        catch (IOException e)
        {
            end = "connection lost: " + e.Message;
        }
        finally
        {
            _mailbox?.Dispose();
            _lock?.Dispose();
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

    /// <summary>Answers a refused command; false (close) when it is the one past Pop3:MaxBadCommands.</summary>
    private bool Bad(string reply)
    {
        // Too many errors: a scanner, a password guesser or a broken client, not a person.
        if (_badCommands.CountAndCheck())
        {
            Reply("-ERR too many bad commands; closing connection");
            _closeReason = "too many bad commands";
            return false;
        }
        Reply(reply);
        return true;
    }

    private void Reply(string line) => _channel.Reply(line);

    /// <summary>The reply buffer, for a message's text (RETR, TOP).</summary>
    private ArrayBufferWriter<byte> _out => _channel.Output;

    private ValueTask FlushAsync(CancellationToken ct) => _channel.FlushAsync(ct);

    /// <summary>One command line; null at end of stream. Overlong lines are discarded and answered.</summary>
    private async Task<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var line = await _channel.ReadLineAsync(ct);
            if (!ReferenceEquals(line, LineChannel.LongLine))
                return line;
            if (!Bad("-ERR line too long"))
                return null;
        }
    }
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
