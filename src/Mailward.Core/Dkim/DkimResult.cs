// What the verification of one DKIM-Signature found, in RFC 8601 §2.7.1's words, with the signing
// domain (d=) and selector (s=) that DMARC (RFC 7489 §3.1.1) and Authentication-Results need.
namespace Mailward.Core.Dkim;

public enum DkimStatus
{
    /// <summary>The message has no DKIM-Signature (RFC 8601 §2.7.1 "none").</summary>
    None,

    /// <summary>The signature verified (RFC 6376 §6.1.3 SUCCESS).</summary>
    Pass,

    /// <summary>The signature or the body hash did not verify: the message was changed, or signed by another key.</summary>
    Fail,

    /// <summary>The signature could not be processed: a syntax error in the DKIM-Signature field, or too big a header to read.</summary>
    Neutral,

    /// <summary>The key could not be fetched for now (a DNS error or the deadline); a later try may succeed.</summary>
    TempError,

    /// <summary>Never verifiable: no key, a revoked or malformed key, an RSA key under 1024 bits, rsa-sha1, an unknown algorithm, or an expired signature.</summary>
    PermError,
}

/// <param name="Domain">d=, the signing domain ("" when the field had none).</param>
/// <param name="Selector">s=, the key's selector ("" when the field had none).</param>
/// <param name="Algorithm">a= as written ("" when absent).</param>
/// <param name="Identity">i=, the agent or user identifier (null when absent).</param>
/// <param name="SignaturePrefix">The first 8 characters of b=, RFC 6008's header.b to tell signatures apart.</param>
/// <param name="Reason">Why it is not a pass, for the log and Authentication-Results' comment; null for pass.</param>
public sealed record DkimResult(DkimStatus Status, string Domain, string Selector, string Algorithm, string? Identity, string SignaturePrefix, string? Reason)
{
    /// <summary>RFC 8601 §2.7.1's token: none, pass, fail, neutral, temperror, permerror.</summary>
    public string Name => Status.ToString().ToLowerInvariant();
}
