// SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, offered only under TLS unless the listener
// allows plain text from loopback; submission (RFC 6409) requires it before MAIL. A failure is
// answered after a delay and counts toward the address's throttle; the rights of the account
// (no-smtp, bounce-mail, no-relay) and, on submission, the ownership of the envelope sender apply.
using System.Net;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Auth;

namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession
{
    private UserRecord? _authUser;
    private string _clientText = "";

    private bool AuthOffered => logins is not null && _authUser is null && (_tls is not null || options.PlaintextAuth switch
    {
        SmtpPlaintextAuth.Always => true,
        SmtpPlaintextAuth.Loopback => IPAddress.IsLoopback(_info.ClientAddress),
        _ => false,
    });

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
        string user, password;
        if (parts[0].Equals("PLAIN", StringComparison.OrdinalIgnoreCase))
        {
            var response = parts.Length > 1 ? parts[1] : await ChallengeAsync("", ct);
            if (response is null)
                return false;
            if (response == "*")
                return BadCommand("501 5.0.0 Authentication cancelled");
            var fields = Decode(response == "=" ? "" : response)?.Split('\0');
            if (fields is not { Length: 3 } || (fields[0].Length > 0 && fields[0] != fields[1]))
                return BadCommand("501 5.5.2 Malformed PLAIN response");
            (user, password) = (fields[1], fields[2]);
        }
        else if (parts[0].Equals("LOGIN", StringComparison.OrdinalIgnoreCase))
        {
            var u = parts.Length > 1 ? parts[1] : await ChallengeAsync("VXNlcm5hbWU6", ct); // "Username:"
            if (u is null)
                return false;
            var p = u == "*" ? "*" : await ChallengeAsync("UGFzc3dvcmQ6", ct); // "Password:"
            if (p is null)
                return false;
            if (u == "*" || p == "*")
                return BadCommand("501 5.0.0 Authentication cancelled");
            if (Decode(u) is not { } du || Decode(p) is not { } dp)
                return BadCommand("501 5.5.2 Malformed LOGIN response");
            (user, password) = (du, dp);
        }
        else
            return BadCommand("504 5.5.4 Unrecognized authentication type");

        var result = await Task.Run(() => logins.VerifyAsync(user, password, _info.ClientAddress, _info.ServerAddress, "smtp", UserFlags.NoSmtp, ct), ct);
        var outcome = result.Succeeded ? "ok" : result.Failure == LoginFailure.ServiceDisabled ? "disabled" : "failed";
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

    private static string? Decode(string base64)
    {
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64));
        }
        catch (FormatException)
        {
            return null;
        }
    }
}

/// <summary>Where AUTH works without TLS.</summary>
public enum SmtpPlaintextAuth
{
    Never,
    Loopback,
    Always,
}
