// The recipient error limit, Postfix's smtpd_soft_error_limit, smtpd_error_sleep_time and
// smtpd_hard_error_limit: past Smtp:SoftErrorLimit rejected recipients each further rejection is
// answered after a delay that grows by Smtp:ErrorDelayMilliseconds per error, and at
// Smtp:HardErrorLimit the session ends with 421. Guessing addresses (harvesting) becomes slow and
// short, while a sender with a few stale addresses never notices.
namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession
{
    private async ValueTask<bool> RcptWithErrorLimitAsync(string argument, CancellationToken ct)
    {
        var before = _recipientsRejected;
        if (!await Rcpt(argument, ct) || _recipientsRejected == before)
            return true;
        if (_recipientsRejected >= options.HardErrorLimit)
        {
            SmtpLog.ErrorLimit(logger, _info.SessionId, _clientText, _recipientsRejected);
            Reply(SmtpReplies.TooManyErrors);
            return false;
        }
        var over = _recipientsRejected - options.SoftErrorLimit;
        if (over > 0)
            await Task.Delay(options.ErrorDelay * over, _time, ct);
        return true;
    }
}
