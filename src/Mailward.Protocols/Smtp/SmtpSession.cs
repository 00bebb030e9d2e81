// An SMTP server session (RFC 5321) as a state machine over a byte stream: commands in, replies
// out, no sockets. The line channel buffers replies and flushes them only before a read that could
// block, which gives PIPELINING (RFC 2920) for free; no line, command or message is ever held whole
// beyond its limit. Commands: SmtpSession.Commands.cs; DATA: SmtpSession.Data.cs.
using System.Text;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Mailward.Protocols.Common;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession(SmtpOptions options, ISmtpPolicy policy, QueueStore queue, ILogger logger, TimeProvider? time = null,
    Mailward.Core.Auth.LoginService? logins = null, SendingLimits? limits = null)
{
    // Holds 32 command lines and reads DATA in 16 KiB steps; idle sessions stay cheap (about 16 KiB each).
    private const int InputBufferSize = 16 * 1024;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private LineChannel _channel = null!;
    private SmtpSessionInfo _info = null!;

    // Session state (design rule 9: a small state, TLS and AUTH beside it).
    private string? _helo;
    private bool _esmtp;
    private string? _tls;
    private readonly BadCommandLimit _badCommands = new(options.MaxBadCommands);
    private int _messagesQueued;
    private int _recipientsRejected;

    // Transaction state: set by MAIL, cleared by RSET, HELO/EHLO, STARTTLS and the end of DATA.
    private SmtpPath? _sender;
    private long _declaredSize; // MAIL's SIZE (RFC 1870), 0 when not given
    private readonly List<string> _recipients = [];
    private readonly HashSet<string> _recipientSet = new(StringComparer.Ordinal); // finds repeats
    private readonly HashSet<string> _hostedRecipients = new(StringComparer.OrdinalIgnoreCase); // for the loop check

    private DoorFindings _findings = new(); // what the door's checks found (DNS lists, SPF), for every stage and the trace headers

    private ClientInfo Client => new(_info.ClientAddress, SessionUser?.Address) { Findings = _findings };

    public async Task RunAsync(Stream stream, SmtpSessionInfo info, CancellationToken ct)
    {
        // Latin-1 keeps every octet of a command as one char, whatever the client sends.
        _channel = new LineChannel(stream, InputBufferSize, options.MaxCommandLength, options.CommandTimeout, Encoding.Latin1);
        _info = info;
        _findings = new DoorFindings { Submission = info.Submission };
        _tls = info.TlsDescription;
        var end = "closed";
        var client = info.ClientAddress.ToString();
        _clientText = client;
        SmtpLog.SessionStarted(logger, info.SessionId, client, info.ClientPort);
        try
        {
            // The connect stage (SmtpSession.Greeting.cs): a refusal is the greeting (RFC 5321 §3.1), and the session ends.
            if (await ConnectStageAsync(ct) is { } refused)
                end = refused;
            else
                Reply($"220 {options.Hostname} ESMTP Mailward ready; session {info.SessionId}");
            while (end == "closed")
            {
                var line = await _channel.ReadLineAsync(ct);
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
            await _channel.FlushAsync(ct);
        }
        catch (ChannelTimeoutException)
        {
            end = "timeout";
            await _channel.TryFinalReplyAsync(SmtpReplies.Timeout);
        }
        catch (DataRateTooLowException)
        {
            end = "data below Smtp:MinDataRateBytesPerSecond";
            await _channel.TryFinalReplyAsync(SmtpReplies.DataTooSlow);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested && info.ServerStopping.CanBeCanceled && !info.ServerStopping.IsCancellationRequested)
        {
            end = "client disconnected"; // the connection's token fired: the client went away (during the greet wait, say)
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            end = "server shutdown";
            await _channel.TryFinalReplyAsync(SmtpReplies.ShuttingDown);
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

    private void Reply(string line) => _channel.Reply(line);
}
