// SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN through the shared SASL code, offered only
// under TLS unless Submission:AllowPlaintextAuth says otherwise (PlaintextPolicy); submission (RFC 6409) requires it before MAIL. A failure is
// answered after a delay and counts toward the address's throttle; the rights of the account
// (no-smtp, bounce-mail, no-relay) and, on submission, the ownership of the envelope sender apply.
using Mailward.Core.Accounts;
using Mailward.Core.Auth;
using Mailward.Protocols.Common;
using Mailward.Protocols.Common.Sasl;

namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession
{
    private UserRecord? _authUser;
    private string _clientText = "";

    private static readonly SaslMechanism[] Mechanisms = [SaslMechanism.Plain, SaslMechanism.Login];

    private bool AuthOffered => logins is not null && _authUser is null && options.PlaintextAuth.Allows(_tls is not null, _info.ClientAddress);

    private async ValueTask<bool> AuthAsync(string argument, CancellationToken ct)
    {
        if (logins is null)
            return BadCommand(SmtpReplies.NotImplemented);
        if (_helo is null || !_esmtp)
            return BadCommand("503 5.5.1 Error: send EHLO first");
        if (_authUser is not null)
            return BadCommand("503 5.5.1 Error: already authenticated");
        if (_sender is not null)
            return BadCommand("503 5.5.1 Error: AUTH not allowed during a mail transaction");
        if (!AuthOffered)
            return BadCommand("538 5.7.11 Encryption required for requested authentication mechanism");
        var parts = argument.Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
            return BadCommand(SmtpReplies.Syntax("AUTH mechanism [initial-response]"));
        if (SaslServer.Find(parts[0], Mechanisms) is not { } mechanism)
            return BadCommand("504 5.5.4 Unrecognized authentication type");
        var sasl = await SaslServer.RunAsync(mechanism, parts.Length > 1 ? parts[1] : null, ChallengeAsync, ct);
        switch (sasl.Result)
        {
            case SaslResult.Disconnected:
                return false;
            case SaslResult.Cancelled:
                return BadCommand("501 5.0.0 Authentication cancelled");
            case SaslResult.MalformedBase64 or SaslResult.Malformed:
                return BadCommand($"501 5.5.2 Malformed {SaslServer.Name(mechanism)} response");
        }
        var (user, password) = (sasl.User, sasl.Password);

        var result = await Task.Run(() => logins.VerifyAsync(user, password, _info.ClientAddress, _info.ServerAddress, "smtp", UserFlags.NoSmtp, ct), ct);
        var outcome = result.Failure switch
        {
            LoginFailure.None => "ok",
            LoginFailure.ServiceDisabled => "disabled",
            LoginFailure.Unavailable => "store unavailable",
            _ => "failed",
        };
        var shown = Mailward.Core.Policy.ClientText.Printable(user); // a client's string: no forged log lines
        SmtpLog.Auth(logger, _info.SessionId, _clientText, shown, outcome);
        if (result.Succeeded && result.User!.Flags.HasFlag(UserFlags.BounceMail))
            result = result with { Failure = LoginFailure.ServiceDisabled };
        if (!result.Succeeded)
        {
            await Task.Delay(options.FailedAuthDelay, _time, ct); // the session waits; nothing else does
            return BadCommand(result.Failure switch
            {
                LoginFailure.ServiceDisabled => "535 5.7.8 Authentication credentials invalid or this account may not send mail",
                LoginFailure.Throttled => "454 4.7.0 Too many failed logins from your address; try again later",
                LoginFailure.Unavailable => "454 4.7.0 Temporary authentication failure: the account store is unavailable", // RFC 4954 §6
                _ => "535 5.7.8 Authentication credentials invalid",
            });
        }
        _authUser = result.User;
        Reply("235 2.7.0 Authentication successful");
        return true;
    }

    private async Task<string?> ChallengeAsync(string challenge, CancellationToken ct)
    {
        Reply("334 " + challenge);
        return await _channel.ReadLineAsync(ct);
    }
}
