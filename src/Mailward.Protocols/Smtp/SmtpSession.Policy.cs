// The door policy's answers applied (ISmtpPolicy, one stage per command): a reject or temp-fail
// is sent as the policy's reply and ends the command; a tarpit holds the answer for its delay
// (the session waits, no thread does), then the command goes on as accepted.
using Mailward.Core.Policy;

namespace Mailward.Protocols.Smtp;

public sealed partial class SmtpSession
{
    /// <summary>True when the command may go on; false when the refusal has been answered.</summary>
    private async ValueTask<bool> PassesAsync(PolicyDecision decision, CancellationToken ct)
    {
        if (decision.Action == PolicyAction.Tarpit)
        {
            await Task.Delay(decision.Delay, _time, ct);
            return true;
        }
        if (!decision.Refuses)
            return true;
        Reply(decision.Reply!);
        return false;
    }
}
