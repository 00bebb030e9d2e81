// DATA (RFC 5321 §4.1.1.4): the Received line (§4.4) is written first, the text streams through
// DataReader (and the filter of forged fields) into a queue transaction, the end-of-DATA checks'
// Authentication-Results goes on top, and 250 is answered only after the queue's commit returned,
// i.e. after the fsync (docs/queue-format.md). Any problem discards the message, never the session;
// only a client below Smtp:MinDataRateBytesPerSecond is also closed (SmtpSession.RunAsync answers it).
using System.Buffers;
using System.Globalization;
using System.Text;
using Mailward.Core.Delivery;
using Mailward.Core.Metrics;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Mailward.Protocols.Common;

namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession
{
    private async ValueTask<bool> DataAsync(string argument, CancellationToken ct)
    {
        if (argument.Trim().Length > 0)
            return BadCommand(SmtpReplies.SyntaxNoArguments);
        if (_sender is null)
        {
            Reply(_helo is null ? SmtpReplies.NeedHelo : SmtpReplies.NeedMail);
            return true;
        }
        if (_recipients.Count == 0)
        {
            // With PIPELINING every RCPT may have failed before DATA arrived (RFC 2920 §3.1).
            Reply(SmtpReplies.NoValidRecipients);
            return true;
        }
        if (!policy.HasStorageFor(_declaredSize))
        {
            Reply(PolicyReplies.InsufficientStorage); // Postfix's queue_minfree, checked again at DATA
            return true;
        }
        var user = SessionUser; // the roaming user goes with the transaction, before the commit
        var envelope = new QueueEnvelope(_sender.Address, [.. _recipients], _info.ClientAddress.ToString(), _helo ?? "", Protocol, user?.Address ?? "");
        await using var tx = queue.Begin(envelope);
        await tx.WriteAsync(_findings.TraceHeaders(_info.ClientAddress.ToString(), options.Hostname), ct); // above Received (RFC 7208 §9.1)
        await tx.WriteAsync(ReceivedLine(tx.QueueId, tx.ArrivedAt), ct);
        Reply(SmtpReplies.StartData);
        await _channel.FlushAsync(ct);

        var reader = new DataReader(options.MaxMessageBytes, options.MaxLineLength, options.MaxHops);
        var chunk = new ArrayBufferWriter<byte>(16 * 1024);
        // Submission completes the header (RFC 6409 §8); mail from other servers is left as it came.
        var fixer = _info.Submission && _authUser is not null ? new SubmissionHeaders() : null;
        var hosted = new HashSet<string>(_hostedRecipients, StringComparer.OrdinalIgnoreCase);
        var loops = new DeliveredToScanner(hosted);
        var rate = new MinDataRate(options.MinDataRateBytesPerSecond, options.MinDataRateGrace);
        // Fields only this server writes (Authentication-Results naming it, X-Mailward-*) are removed from every client's header.
        var forged = new ForgedFieldFilter(options.Hostname, options.MaxLineLength);
        async ValueTask WriteAsync(ReadOnlyMemory<byte> data)
        {
            var end = fixer?.Scan(data.Span) ?? -1;
            if (end >= 0)
            {
                await tx.WriteAsync(data[..end], ct);
                await tx.WriteAsync(fixer!.Missing(options.Hostname, tx.QueueId, _time.GetUtcNow()), ct);
                await tx.WriteAsync(data[end..], ct);
            }
            else if (data.Length > 0)
                await tx.WriteAsync(data, ct);
        }
        while (true)
        {
            if (_channel.Buffered.Length > 0)
            {
                _channel.Consume(reader.Feed(_channel.Buffered, chunk));
                if (chunk.WrittenCount > 0)
                {
                    loops.Scan(chunk.WrittenSpan);
                    await WriteAsync(forged.Apply(chunk.WrittenMemory));
                    chunk.ResetWrittenCount();
                }
                if (reader.Complete)
                {
                    await WriteAsync(forged.Finish());
                    // A message that is all header (no blank line) gets the fields at its end.
                    if (fixer is { HeaderComplete: false } && reader.Problem == DataProblem.None)
                        await tx.WriteAsync(fixer.Missing(options.Hostname, tx.QueueId, _time.GetUtcNow()), ct);
                    break;
                }
            }
            // The client going away mid-message, or dripping it (DataRateTooLowException): nothing is queued.
            if (await rate.ReadMoreAsync(_channel, options.CommandTimeout, ct) == 0)
                return false;
        }

        ResetTransaction();
        var reason = reader.Problem.ToString();
        var problem = reader.Problem switch
        {
            DataProblem.TooBig => SmtpReplies.MessageTooBig,
            DataProblem.LineTooLong => SmtpReplies.LineTooLongInData,
            DataProblem.BareLineEnd => SmtpReplies.BareLineEnd,
            DataProblem.TooManyHops => SmtpReplies.Loop,
            _ => null,
        };
        // Decided before the 250, so no bounce goes to a sender that may be forged.
        if (problem is null && loops.Looping is { } looping)
            (problem, reason) = (SmtpReplies.Looping(looping), "looping");
        else if (problem is null && await EndOfDataAsync(tx, envelope, hosted, ct) is var door && door.Action != PolicyAction.Accept)
        {
            if (door.Action == PolicyAction.Tarpit)
                await PassesAsync(door, ct);
            else
                (problem, reason) = (door.Reply, door.Reason ?? "refused by policy");
        }
        if (problem is null)
        {
            // Above the whole message, as RFC 8601 §5 asks: the results known only now (docs/queue-format.md, top fields).
            var top = _findings.TopFields(options.Hostname);
            if (top.Length > 0)
                tx.SetTopFields(top);
        }
        if (problem is not null)
        {
            SmtpLog.MessageRefused(logger, _info.SessionId, envelope.Sender, reason);
            MailwardMetrics.MessageRefused("data", reason);
            Reply(problem);
            return true;
        }
        try
        {
            var id = await tx.CommitAsync(ct);
            _messagesQueued++;
            MailwardMetrics.MessageAccepted(_info.Submission ? "submission" : "smtp");
            if (user is not null)
                limits?.Sent(user.Address, user.Domain);
            SmtpLog.MessageQueued(logger, _info.SessionId, id, envelope.Sender, envelope.Recipients.Count, tx.BodyLength, Protocol,
                user is null ? "-" : user.Address);
            Reply(SmtpReplies.Queued(id));
        }
        catch (IOException e)
        {
            SmtpLog.QueueFailed(logger, _info.SessionId, e.Message);
            MailwardMetrics.MessageRefused("data", "queue write failed");
            Reply(SmtpReplies.QueueError);
        }
        return true;
    }

    /// <summary>The policy's end-of-DATA answer; its message checks (DKIM) read the spooled message, before the commit.</summary>
    private async ValueTask<PolicyDecision> EndOfDataAsync(QueueTransaction tx, QueueEnvelope envelope, HashSet<string> hosted, CancellationToken ct)
    {
        _findings.OpenMessage = tx.OpenWrittenAsync;
        try
        {
            return await policy.EndOfDataAsync(Client, envelope.Recipients, hosted, tx.BodyLength, ct);
        }
        finally
        {
            _findings.OpenMessage = null;
        }
    }

    /// <summary>RFC 3848's "with" keyword: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA.</summary>
    private string Protocol => !_esmtp ? "SMTP" : (_tls is null ? "ESMTP" : "ESMTPS") + (_authUser is null ? "" : "A");

    /// <summary>The trace field of RFC 5321 §4.4: who sent it, who took it, how, and when.</summary>
    private byte[] ReceivedLine(string queueId, DateTimeOffset at)
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"Received: from {Sanitize(_helo ?? "unknown")} ([{_info.ClientAddress}])\r\n");
        sb.Append(CultureInfo.InvariantCulture, $"\tby {options.Hostname} (Mailward) with {Protocol} id {queueId}\r\n");
        if (_tls is not null)
            sb.Append(CultureInfo.InvariantCulture, $"\t({_tls})\r\n");
        if (_authUser is not null)
            sb.Append(CultureInfo.InvariantCulture, $"\t(authenticated sender: {_authUser.Address})\r\n");
        if (_recipients.Count == 1)
            sb.Append(CultureInfo.InvariantCulture, $"\tfor <{_recipients[0]}>");
        else
            sb.Append('\t');
        sb.Append("; ").Append(Rfc5322Date(at)).Append("\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary>Keeps a client-chosen name from breaking the header: printable ASCII, no parentheses.</summary>
    private static string Sanitize(string s) =>
        new(s.Take(255).Select(c => c is >= '!' and <= '~' and not '(' and not ')' ? c : '_').ToArray());

    internal static string Rfc5322Date(DateTimeOffset t)
    {
        var u = t.ToUniversalTime();
        return u.ToString("ddd, dd MMM yyyy HH:mm:ss", CultureInfo.InvariantCulture) + " +0000";
    }
}
