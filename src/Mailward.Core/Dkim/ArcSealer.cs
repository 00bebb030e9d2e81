// ARC sealing (RFC 8617) of mail that leaves again after it came in from a stranger — a forward, or a
// list post of inbound mail — so the next hop can see what this host's door found (SPF, DKIM, DMARC)
// although forwarding broke SPF and a list may break DKIM. Only a message carrying this host's own
// Authentication-Results (the door's top field; forged copies never get past the door) is sealed,
// with the Arc:SealDomain's DKIM key; the prior chain is verified for cv= (§5.1.1). MimeKit's
// ArcSigner computes the three fields; the caller sends them above the queued bytes.
using System.Text;
using MimeKit;
using MimeKit.Cryptography;

namespace Mailward.Core.Dkim;

public sealed class ArcSealer(DkimKeyStore keys, string sealDomain, string authservId, IDkimPublicKeyLocator locator, int maxHeaderBytes)
{
    /// <summary>RFC 8617 §4.2.1: at most 50 ARC sets; a message with that many is not sealed again.</summary>
    public const int MaxInstances = 50;

    /// <summary>What sealing found: the three fields (ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results, CRLF-terminated), or why not.</summary>
    public sealed record Outcome(byte[]? Fields, int Instance, string Chain, string? Skipped);

    public async Task<Outcome> SealAsync(Func<Stream> open, CancellationToken ct = default)
    {
        byte[]? header;
        await using (var s = open())
            header = await DkimHeaderBlock.ReadAsync(s, maxHeaderBytes, ct);
        if (header is null)
            return new Outcome(null, 0, "", $"header longer than {maxHeaderBytes} bytes");
        var key = keys.Signing(sealDomain);
        if (key is null)
            return new Outcome(null, 0, "", $"{sealDomain} has no active DKIM key");
        await using var stream = open();
        var message = await MimeMessage.LoadAsync(ParserOptions.Default, stream, persistent: true, ct);
        var ours = message.Headers.FirstOrDefault(h => h.Id == HeaderId.AuthenticationResults
            && Policy.AuthenticationResults.ClaimsHost(h.Value, authservId));
        if (ours is null || !AuthenticationResults.TryParse(ours.RawValue, out var results))
            return new Outcome(null, 0, "", null); // not inbound mail this host checked: nothing to vouch for
        var instances = message.Headers.Count(h => h.Id == HeaderId.ArcSeal);
        if (instances >= MaxInstances)
            return new Outcome(null, 0, "", $"already {instances} ARC sets");
        var chain = "none";
        if (instances > 0)
        {
            var verified = await new ArcVerifier(locator).VerifyAsync(message, ct);
            chain = verified.Chain == ArcSignatureValidationResult.Pass ? "pass" : "fail";
        }
        var signer = new Signer(key, sealDomain, results, chain);
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        await signer.SignAsync(options, message, [.. DkimMessageSigner.SignedFields.Where(f => message.Headers.Contains(f))], ct);
        var added = message.Headers.Take(3).ToList();
        if (added.Count != 3 || added.Any(h => h.Id is not (HeaderId.ArcSeal or HeaderId.ArcMessageSignature or HeaderId.ArcAuthenticationResults)))
            return new Outcome(null, 0, chain, "MimeKit did not add the ARC set on top");
        var text = new StringBuilder();
        foreach (var field in added)
        {
            var one = (field.Field + ":" + Encoding.ASCII.GetString(field.RawValue)).ReplaceLineEndings("\r\n");
            text.Append(one.EndsWith("\r\n", StringComparison.Ordinal) ? one : one + "\r\n");
        }
        return new Outcome(Encoding.ASCII.GetBytes(text.ToString()), instances + 1, chain, null);
    }

    /// <summary>MimeKit's signer with the ARC-Authentication-Results taken from this host's field and the chain's state as cv=.</summary>
    private sealed class Signer(DkimKey key, string domain, AuthenticationResults results, string chain)
        : ArcSigner(key.Private!, domain, key.Selector, key.Algorithm == DkimKey.Ed25519 ? DkimSignatureAlgorithm.Ed25519Sha256 : DkimSignatureAlgorithm.RsaSha256)
    {
        protected override AuthenticationResults GenerateArcAuthenticationResults(FormatOptions options, MimeMessage message, CancellationToken cancellationToken)
        {
            var aar = new AuthenticationResults(results.AuthenticationServiceIdentifier ?? Domain);
            foreach (var r in results.Results)
                aar.Results.Add(r);
            aar.Results.Add(new AuthenticationMethodResult("arc", chain));
            return aar;
        }

        protected override Task<AuthenticationResults> GenerateArcAuthenticationResultsAsync(FormatOptions options, MimeMessage message,
            CancellationToken cancellationToken) =>
            Task.FromResult(GenerateArcAuthenticationResults(options, message, cancellationToken));
    }
}
