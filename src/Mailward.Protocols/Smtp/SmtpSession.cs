// An SMTP server session (RFC 5321) as a state machine over a byte stream: commands in, replies
// out, no sockets. Replies are buffered and flushed only before a read that could block, which
// gives PIPELINING (RFC 2920) for free. Input is read into one fixed buffer; no line, command or
// message is ever held whole beyond its limit. Commands: SmtpSession.Commands.cs; DATA:
// SmtpSession.Data.cs.
using System.Buffers;
using System.Text;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession(SmtpOptions options, ISmtpPolicy policy, QueueStore queue, ILogger logger, TimeProvider? time = null,
    Mailward.Core.Auth.LoginService? logins = null, SendingLimits? limits = null)
{
    // Holds 32 command lines and reads DATA in 16 KiB steps; idle sessions stay cheap (about 16 KiB each).
    private const int InputBufferSize = 16 * 1024;
    private static readonly string LongLine = "\0long";

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly byte[] _in = new byte[InputBufferSize];
    private readonly ArrayBufferWriter<byte> _out = new(1024);
    private int _start;
    private int _end;
    private bool _discardingLongLine;
    private Stream _stream = Stream.Null;
    private SmtpSessionInfo _info = null!;

    // Session state (design rule 9: a small state, TLS and AUTH beside it).
    private string? _helo;
    private bool _esmtp;
    private string? _tls;
    private int _badCommands;
    private int _messagesQueued;
    private int _recipientsRejected;

    // Transaction state: set by MAIL, cleared by RSET, HELO/EHLO, STARTTLS and the end of DATA.
    private SmtpPath? _sender;
    private long _declaredSize; // MAIL's SIZE (RFC 1870), 0 when not given
    private readonly List<string> _recipients = [];
    private readonly HashSet<string> _recipientSet = new(StringComparer.Ordinal); // finds repeats
    private readonly HashSet<string> _hostedRecipients = new(StringComparer.OrdinalIgnoreCase); // for the loop check

    private ClientInfo Client => new(_info.ClientAddress, SessionUser?.Address);

    public async Task RunAsync(Stream stream, SmtpSessionInfo info, CancellationToken ct)
    {
        _stream = stream;
        _info = info;
        _tls = info.TlsDescription;
        var end = "closed";
        var client = info.ClientAddress.ToString();
        _clientText = client;
        SmtpLog.SessionStarted(logger, info.SessionId, client, info.ClientPort);
        try
        {
            Reply($"220 {options.Hostname} ESMTP Mailward ready; session {info.SessionId}");
            while (true)
            {
                var line = await ReadLineAsync(ct);
                if (line is null)
                {
                    end = "client disconnected";
                    break;
                }
                if (!await HandleAsync(line, ct))
                {
                    end = "quit";
                    break;
                }
            }
            await FlushAsync(ct);
        }
        catch (SessionTimeoutException)
        {
            end = "timeout";
            await TryFinalReplyAsync(SmtpReplies.Timeout);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            end = "server shutdown";
            await TryFinalReplyAsync(SmtpReplies.ShuttingDown);
        }
        catch (IOException e)
        {
            end = "i/o error: " + e.Message;
        }
        finally
        {
            SmtpLog.SessionEnded(logger, info.SessionId, client, _helo ?? "", _tls ?? "none",
                _messagesQueued, _recipientsRejected, end);
        }
    }

    private void Reply(string line)
    {
        var bytes = Encoding.Latin1.GetByteCount(line);
        Encoding.Latin1.GetBytes(line, _out.GetSpan(bytes + 2));
        _out.Advance(bytes);
        _out.Write("\r\n"u8);
    }

    private async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_out.WrittenCount == 0)
            return;
        await _stream.WriteAsync(_out.WrittenMemory, ct);
        await _stream.FlushAsync(ct);
        _out.ResetWrittenCount();
    }

    private async Task TryFinalReplyAsync(string reply)
    {
        try
        {
            Reply(reply);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await FlushAsync(cts.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>
    /// The next command line without its line end; <see cref="LongLine"/> for one over the limit
    /// (discarded, never buffered); null at end of input. Accepts CRLF, and a bare LF from hand
    /// typed sessions (nc); DATA is strict.
    /// </summary>
    private async ValueTask<string?> ReadLineAsync(CancellationToken ct)
    {
        while (true)
        {
            var span = _in.AsSpan(_start, _end - _start);
            var lf = span.IndexOf((byte)'\n');
            if (lf >= 0)
            {
                var line = span[..lf];
                _start += lf + 1;
                if (_discardingLongLine || lf + 1 > options.MaxCommandLength)
                {
                    _discardingLongLine = false;
                    return LongLine;
                }
                if (line.Length > 0 && line[^1] == (byte)'\r')
                    line = line[..^1];
                return Encoding.Latin1.GetString(line);
            }
            if (_end - _start >= options.MaxCommandLength)
            {
                // Past the limit with no line end: drop what we have and keep dropping until LF.
                _discardingLongLine = true;
                _start = _end;
            }
            await FlushAsync(ct);
            if (await ReadMoreAsync(ct) == 0)
                return null;
        }
    }

    /// <summary>Reads more input into the buffer, within the command timeout; 0 at end of input.</summary>
    private async ValueTask<int> ReadMoreAsync(CancellationToken ct)
    {
        if (_start == _end)
            _start = _end = 0;
        else if (_end == _in.Length)
        {
            Buffer.BlockCopy(_in, _start, _in, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.CommandTimeout);
        try
        {
            var n = await _stream.ReadAsync(_in.AsMemory(_end), timeout.Token);
            _end += n;
            return n;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new SessionTimeoutException();
        }
    }

    private sealed class SessionTimeoutException : Exception;
}
