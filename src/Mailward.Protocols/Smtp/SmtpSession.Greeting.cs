// The connect stage and the greeting (RFC 5321 §3.1): a refusal is the greeting and ends the
// session; a tarpit at connect is a stranger's wait for the greeting (postscreen's greet wait,
// Smtp:GreetDelayMilliseconds), watched: a client that sends anything before the 220 has not waited
// for it as RFC 5321 §3.1 and §4.3.1 expect, which is what spam software does (postscreen's
// pregreet test), and is refused with 554 and closed. A connect check the account store cannot
// answer now is a 421 greeting.
using Mailward.Core.Metrics;
using Mailward.Core.Policy;
using Mailward.Protocols.Common;

namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession
{
    private const string EarlyTalkerReply = "554 5.5.1 Error: protocol error: you sent before the greeting";

    /// <summary>Null when the session may be greeted; otherwise how it ended (answered already).</summary>
    private async ValueTask<string?> ConnectStageAsync(CancellationToken ct)
    {
        PolicyDecision decision;
        try
        {
            decision = await policy.ConnectAsync(Client, ct);
        }
        catch (Core.Accounts.AccountStoreUnavailableException e)
        {
            // A check at connect needed a lookup nothing cached could answer while the account
            // store is away: a temporary greeting (RFC 5321 §3.8), never a silent close.
            SmtpLog.StoreUnavailableAtConnect(logger, _info.SessionId, _clientText, e.Message);
            Reply(SmtpReplies.StoreUnavailableAtConnect);
            return "account store unavailable";
        }
        if (decision.Action != PolicyAction.Tarpit)
            return await PassesAsync(decision, ct) ? null : "refused at connect";
        try
        {
            if (await _channel.ReadMoreAsync(decision.Delay, ct) == 0)
                return "client disconnected";
        }
        catch (ChannelTimeoutException)
        {
            return null; // silent for the whole wait, as a real client is
        }
        SmtpLog.EarlyTalker(logger, _info.SessionId, _clientText, (int)decision.Delay.TotalMilliseconds);
        MailwardMetrics.MessageRefused("connect", "early talker");
        Reply(EarlyTalkerReply);
        return "talked before the greeting";
    }
}
