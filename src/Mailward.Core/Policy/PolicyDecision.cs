// What a stage of the door policy answers (Postfix's restriction stages: connect, HELO, MAIL, RCPT,
// end of DATA): accept; reject with a permanent reply; temp-fail with a temporary one; or tarpit,
// which holds the answer for a delay and then goes on as accepted (a slow answer costs a spammer's
// connection time, not ours). DNSBL, SPF and DKIM checks add their decisions here.
namespace Mailward.Core.Policy;

public enum PolicyAction
{
    Accept,
    Reject,
    TempFail,
    Tarpit,
}

/// <param name="Reply">The SMTP reply of a reject (5xx) or temp-fail (4xx).</param>
/// <param name="Reason">A short reason for the log ("over quota"); not sent to the client.</param>
public readonly record struct PolicyDecision(PolicyAction Action, string? Reply = null, TimeSpan Delay = default, string? Reason = null)
{
    public static PolicyDecision Accept => default;

    public static PolicyDecision Reject(string reply, string? reason = null) => new(PolicyAction.Reject, reply, Reason: reason);

    public static PolicyDecision TempFail(string reply, string? reason = null) => new(PolicyAction.TempFail, reply, Reason: reason);

    public static PolicyDecision Tarpit(TimeSpan delay) => new(PolicyAction.Tarpit, Delay: delay);

    /// <summary>True for a reject or temp-fail: the command is answered with <see cref="Reply"/> and goes no further.</summary>
    public bool Refuses => Action is PolicyAction.Reject or PolicyAction.TempFail;
}
