// The SMTP verbs (RFC 5321 §4.1.1) as a declarative table: each verb's handler and whether it
// counts toward the bad-command limit. Sequence errors are 503, syntax 500/501, parameters 555.
using Mailward.Core.Metrics;
using Mailward.Core.Policy;
using Mailward.Protocols.Common;

namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession
{
    private delegate ValueTask<bool> Handler(SmtpSession session, string argument, CancellationToken ct);

    private static readonly Dictionary<string, Handler> Verbs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["EHLO"] = (s, a, ct) => s.Hello(a, esmtp: true, ct),
        ["HELO"] = (s, a, ct) => s.Hello(a, esmtp: false, ct),
        ["MAIL"] = (s, a, ct) => s.Mail(a, ct),
        ["RCPT"] = (s, a, ct) => s.RcptWithErrorLimitAsync(a, ct),
        ["DATA"] = (s, a, ct) => s.DataAsync(a, ct),
        ["RSET"] = (s, a, _) => s.Simple(a, SmtpReplies.Ok, reset: true),
        ["NOOP"] = (s, _, _) => s.Simple("", SmtpReplies.Ok, reset: false),
        ["QUIT"] = (s, _, _) => s.Quit(),
        // VRFY never tells whether an account exists (RFC 5321 §3.5.3, 252).
        ["VRFY"] = (s, _, _) => s.Simple("", SmtpReplies.CannotVrfy, reset: false),
        ["HELP"] = (s, _, _) => s.Simple("", SmtpReplies.Help, reset: false),
        ["STARTTLS"] = (s, a, ct) => s.StartTlsAsync(a, ct),
        ["AUTH"] = (s, a, ct) => s.AuthAsync(a, ct),
    };

    private async ValueTask<bool> HandleAsync(string line, CancellationToken ct)
    {
        if (ReferenceEquals(line, LineChannel.LongLine))
            return BadCommand(SmtpReplies.LineTooLong);
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        var verb = space < 0 ? line : line[..space];
        var argument = space < 0 ? "" : line[(space + 1)..];
        if (!Verbs.TryGetValue(verb, out var handler))
            return BadCommand(verb.Equals("EXPN", StringComparison.OrdinalIgnoreCase) ? SmtpReplies.NotImplemented : SmtpReplies.UnknownCommand);
        try
        {
            return await handler(this, argument, ct);
        }
        catch (Core.Accounts.AccountStoreUnavailableException e)
        {
            // A lookup the read cache could not answer while the account store is away (MAIL's
            // roaming user or sender check): this command fails for now, the session goes on.
            SmtpLog.StoreUnavailable(logger, _info.SessionId, verb.ToUpperInvariant(), e.Message);
            Reply(SmtpReplies.StoreUnavailable);
            return true;
        }
    }

    /// <summary>Answers a bad command; the one past Smtp:MaxBadCommands closes the session.</summary>
    private bool BadCommand(string reply)
    {
        if (_badCommands.CountAndCheck())
        {
            Reply(SmtpReplies.TooManyErrors);
            return false;
        }
        Reply(reply);
        return true;
    }

    private void ResetTransaction()
    {
        _sender = null;
        _declaredSize = 0;
        _roamUser = null;
        _recipients.Clear();
        _recipientSet.Clear();
        _hostedRecipients.Clear();
    }

    private ValueTask<bool> Simple(string argument, string reply, bool reset)
    {
        if (argument.Trim().Length > 0 && reset)
            return ValueTask.FromResult(BadCommand(SmtpReplies.SyntaxNoArguments));
        if (reset)
            ResetTransaction();
        Reply(reply);
        return ValueTask.FromResult(true);
    }

    private ValueTask<bool> Quit()
    {
        Reply(SmtpReplies.Bye);
        return ValueTask.FromResult(false);
    }

    // RFC 5321 §4.1.1.1; the EHLO keywords of RFC 2920, 1870, 6152, 2034 and 3207.
    private async ValueTask<bool> Hello(string argument, bool esmtp, CancellationToken ct)
    {
        var name = argument.Trim();
        if (name.Length == 0 || name.Contains(' ', StringComparison.Ordinal))
            return BadCommand(esmtp ? SmtpReplies.SyntaxHelo : "501 5.5.4 Syntax: HELO hostname");
        if (!await PassesAsync(await policy.HeloAsync(Client, ClientText.Printable(name), ct), ct))
            return true;
        ResetTransaction();
        _helo = ClientText.Printable(name); // it reaches logs, the Received line and `queue list`
        _esmtp = esmtp;
        if (!esmtp)
        {
            Reply($"250 {options.Hostname}");
            return true;
        }
        var lines = new List<string> { options.Hostname, "PIPELINING", $"SIZE {options.MaxMessageBytes}", "8BITMIME", "ENHANCEDSTATUSCODES" };
        if (_tls is null && _info.StartTls is not null)
            lines.Add("STARTTLS");
        if (AuthOffered)
            lines.Add("AUTH PLAIN LOGIN");
        for (var i = 0; i < lines.Count; i++)
            Reply($"250{(i == lines.Count - 1 ? ' ' : '-')}{lines[i]}");
        return true;
    }

    // RFC 5321 §4.1.1.2; SIZE (RFC 1870 §6) and BODY (RFC 6152) parameters.
    private async ValueTask<bool> Mail(string argument, CancellationToken ct)
    {
        if (_helo is null)
        {
            Reply(SmtpReplies.NeedHelo);
            return true;
        }
        if (_sender is not null)
        {
            Reply(SmtpReplies.NestedMail);
            return true;
        }
        if (_info.Submission && _authUser is null)
        {
            Reply("530 5.7.0 Authentication required"); // RFC 6409 §4.3
            return true;
        }
        if (!argument.StartsWith("FROM:", StringComparison.OrdinalIgnoreCase))
            return BadCommand(SmtpReplies.Syntax("MAIL FROM:<address>"));
        if (!SmtpPath.TryParse(argument[5..], allowNull: true, out var path, out var parameters, out var error))
            return BadCommand(SmtpReplies.Syntax(error));
        long declared = 0;
        foreach (var p in parameters.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = p.IndexOf('=', StringComparison.Ordinal);
            var key = eq < 0 ? p : p[..eq];
            var value = eq < 0 ? "" : p[(eq + 1)..];
            if (_esmtp && key.Equals("SIZE", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, out var size) && size >= 0)
            {
                if (size > options.MaxMessageBytes)
                {
                    Reply(SmtpReplies.MessageTooBigAtMail);
                    return true;
                }
                declared = size;
            }
            else if (_esmtp && key.Equals("BODY", StringComparison.OrdinalIgnoreCase) &&
                     (value.Equals("8BITMIME", StringComparison.OrdinalIgnoreCase) || value.Equals("7BIT", StringComparison.OrdinalIgnoreCase)))
            {
            }
            else
                return BadCommand(SmtpReplies.UnsupportedParameter(p));
        }
        // The MAIL stage: room for the declared size (RFC 1870 §6.1), badmailfrom.
        if (!await PassesAsync(await policy.MailAsync(Client, path.IsNull ? "" : $"{path.LocalValue}@{path.Domain}", path.Address, declared, ct), ct))
            return true;
        var user = _authUser ?? await RoamingUserAsync(path.Address, ct);
        if (user is not null && limits is not null && !limits.MayStartMessage(user.Address, user.Domain))
        {
            Reply($"450 4.7.1 Sending limit of {limits.For(user.Domain).MessagesPerHour} messages per hour reached; try again later");
            return true;
        }
        // An authenticated sender sends as itself (RFC 6409 §6.1): its mailbox, aliases, alias domains.
        if (_authUser is not null && options.EnforceSenderOwnership && !await logins!.MayUseSenderAsync(_authUser, path.Address, ct))
        {
            Reply($"553 5.7.1 <{path.Address}>: Sender address not owned by user {_authUser.Address}");
            return true;
        }
        _sender = path;
        _declaredSize = declared;
        if (user != _authUser)
        {
            _roamUser = user;
            SmtpLog.Roaming(logger, _info.SessionId, _clientText, user!.Address, path.Address);
        }
        Reply(SmtpReplies.SenderOk);
        return true;
    }

    // RFC 5321 §4.1.1.3; the recipient limit of §4.5.3.1.8 (452, and the client retries the rest).
    private async ValueTask<bool> Rcpt(string argument, CancellationToken ct)
    {
        if (_sender is null)
        {
            Reply(_helo is null ? SmtpReplies.NeedHelo : SmtpReplies.NeedMail);
            return true;
        }
        if (!argument.StartsWith("TO:", StringComparison.OrdinalIgnoreCase))
            return BadCommand(SmtpReplies.Syntax("RCPT TO:<address>"));
        if (!SmtpPath.TryParse(argument[3..], allowNull: false, out var path, out var parameters, out var error))
            return BadCommand(SmtpReplies.Syntax(error));
        if (parameters.Length > 0)
            return BadCommand(SmtpReplies.UnsupportedParameter(parameters.Split(' ')[0]));
        if (SessionUser is { } user && limits is not null && limits.For(user.Domain).RecipientsPerMessage is > 0 and var most && _recipients.Count >= most)
        {
            Reply(SmtpReplies.TooManyRecipients);
            return true;
        }
        if (_recipients.Count >= options.MaxRecipients)
        {
            Reply(SmtpReplies.TooManyRecipients);
            return true;
        }
        var decision = await policy.RcptAsync(Client, path.LocalValue.Contains('@', StringComparison.Ordinal) ? path.LocalPart : path.LocalValue,
            path.Domain, path.DomainIsLiteral, path.Address, _declaredSize, ct);
        if (decision.Outcome.Action == PolicyAction.Tarpit)
            await PassesAsync(decision.Outcome, ct);
        // The policy's refusal (unknown user, relay denied, a disabled or full mailbox refused now
        // rather than bounced later, perhaps to a forged sender), with its reply and log reason.
        if (decision.Outcome.Refuses || decision.Verdict is not (RecipientVerdict.AcceptLocal or RecipientVerdict.AcceptRelay))
        {
            _recipientsRejected++;
            SmtpLog.RecipientRejected(logger, _info.SessionId, path.Address, decision.Outcome.Reason ?? "refused by policy");
            MailwardMetrics.MessageRefused("rcpt", decision.Outcome.Reason ?? "refused by policy");
            Reply(decision.Outcome.Reply ?? PolicyReplies.RelayDenied(path.Address));
        }
        else if (decision.Verdict == RecipientVerdict.AcceptRelay && _authUser is not null && _authUser.Flags.HasFlag(Mailward.Core.Accounts.UserFlags.NoRelay))
        {
            // qmail's internal-only accounts: hosted domains yes, the rest of the world no.
            _recipientsRejected++;
            SmtpLog.RecipientRejected(logger, _info.SessionId, path.Address, "account limited to hosted domains");
            MailwardMetrics.MessageRefused("rcpt", "account limited to hosted domains");
            Reply($"554 5.7.1 <{path.Address}>: This account may send to hosted domains only");
        }
        else
        {
            // A repeated recipient is answered 250 and kept once (compared as the resolver sees it:
            // hosted addresses canonical, others with the domain in lower case): 100 RCPTs, one copy.
            var address = decision.Verdict == RecipientVerdict.AcceptLocal ? decision.Address : path.Address;
            if (_recipientSet.Add(address))
                _recipients.Add(address);
            if (decision.Verdict == RecipientVerdict.AcceptLocal)
                _hostedRecipients.Add(address);
            Reply(SmtpReplies.RecipientOk);
        }
        return true;
    }

    // RFC 3207: STARTTLS. Input pipelined after the command is discarded, never read as commands
    // sent inside TLS (Postfix HISTORY 20110105, CVE-2011-0411).
    private async ValueTask<bool> StartTlsAsync(string argument, CancellationToken ct)
    {
        if (_info.StartTls is null)
            return BadCommand(SmtpReplies.NotImplemented);
        if (_tls is not null)
        {
            Reply(SmtpReplies.AlreadyTls);
            return true;
        }
        if (argument.Trim().Length > 0)
            return BadCommand(SmtpReplies.SyntaxNoArguments);
        Reply(SmtpReplies.ReadyForTls);
        await _channel.FlushAsync(ct);
        _channel.DiscardBuffered();
        try
        {
            var (stream, description) = await _info.StartTls(_channel.Stream, ct);
            _channel.Stream = stream;
            _tls = description;
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            SmtpLog.TlsFailed(logger, _info.SessionId, e.Message);
            return false;
        }
        // RFC 3207 §4.2: the server forgets what the client said before TLS (the EHLO name, and a
        // plaintext AUTH, which anyone on the path could have injected); the client starts again with EHLO.
        _helo = null;
        _esmtp = false;
        _authUser = null;
        ResetTransaction();
        return true;
    }
}
