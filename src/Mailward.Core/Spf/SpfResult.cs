// The results of an SPF check (RFC 7208 §2.6) and what one check found: the result, the domain
// it was about, the explanation of a fail (§6.2) and, for the errors, what went wrong.
namespace Mailward.Core.Spf;

public enum SpfResult
{
    None,
    Neutral,
    Pass,
    Fail,
    SoftFail,
    TempError,
    PermError,
}

/// <param name="Domain">The domain whose policy was checked (the MAIL FROM domain or the HELO name).</param>
/// <param name="Explanation">For fail: the domain's exp= text (macros expanded, printable ASCII), or null when it gave none.</param>
/// <param name="Problem">For temperror and permerror: what went wrong, for the log and Received-SPF's problem=.</param>
/// <param name="Mechanism">The mechanism that matched, as written (null when none did).</param>
public sealed record SpfOutcome(SpfResult Result, string Domain, string? Explanation = null, string? Problem = null, string? Mechanism = null)
{
    /// <summary>RFC 8601 and RFC 7208 §9.1 spell the results in lower case.</summary>
    public string Name => Result.ToString().ToLowerInvariant();
}
