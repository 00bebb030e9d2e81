// DKIM verification (RFC 6376 §6) of a message a stranger sent, at the end of DATA and before the
// queue's commit, from the spooled message (memory or the queue's tmp file; the header block is read
// with a bound, the body is streamed). MimeKit's DkimVerifier does the canonicalization and the
// cryptography; Mailward checks what MimeKit leaves to the caller: rsa-sha1 is not accepted (RFC 8301
// §3.1), the key record's rules and sizes (DkimKeyLocator), the signature's expiry x= (§3.5), and a
// bound on signatures and time. Each signature gets one RFC 8601 result with its d= and s=.
using System.Globalization;
using MimeKit;
using MimeKit.Cryptography;

namespace Mailward.Core.Dkim;

public sealed class DkimMessageVerifier
{
    private readonly DkimVerifier _verifier;
    private readonly TimeProvider _time;

    public DkimMessageVerifier(DkimKeyLocator keys, DkimOptions options, TimeProvider? time = null)
    {
        Options = options;
        _time = time ?? TimeProvider.System;
        _verifier = new DkimVerifier(keys) { MinimumRsaKeyLength = DkimKeyLocator.MinRsaBits };
        _verifier.Enable(DkimSignatureAlgorithm.Ed25519Sha256); // RFC 8463
        _verifier.Disable(DkimSignatureAlgorithm.RsaSha1); // RFC 8301 §3.1
    }

    public DkimOptions Options { get; }

    /// <summary>One result per DKIM-Signature (the first Dkim:MaxSignatures, top down); empty when there is none (RFC 8601 "none").</summary>
    public async Task<IReadOnlyList<DkimResult>> VerifyAsync(Stream message, CancellationToken ct = default)
    {
        var header = await DkimHeaderBlock.ReadAsync(message, Options.MaxHeaderBytes, ct);
        if (header is null)
            return [new DkimResult(DkimStatus.Neutral, "", "", "", null, "",
                string.Create(CultureInfo.InvariantCulture, $"header longer than {Options.MaxHeaderBytes} bytes, not verified"))];
        if (!DkimHeaderBlock.HasSignature(header))
            return [];
        message.Position = 0;
        // persistent: the parts' content stays in the stream (the spooled file), not in memory.
        var parsed = await MimeMessage.LoadAsync(ParserOptions.Default, message, persistent: true, ct);
        var signatures = parsed.Headers.Where(h => h.Id == HeaderId.DkimSignature).Take(Options.MaxSignatures).ToList();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(Options.Deadline);
        var results = new List<DkimResult>(signatures.Count);
        foreach (var signature in signatures)
            results.Add(await VerifyOneAsync(parsed, signature, deadline.Token, ct));
        return results;
    }

    private async Task<DkimResult> VerifyOneAsync(MimeMessage message, Header field, CancellationToken deadline, CancellationToken ct)
    {
        var tags = DkimTags.Parse(field.Value);
        string Tag(string name) => tags is not null && tags.TryGetValue(name, out var v) ? v : "";
        var identity = tags is not null && tags.TryGetValue("i", out var i) ? i : null;
        var b = DkimTags.Compact(Tag("b"));
        DkimResult Result(DkimStatus status, string? reason) =>
            new(status, Tag("d").ToLowerInvariant(), Tag("s"), Tag("a"), identity, b[..Math.Min(8, b.Length)], reason);

        if (tags is null)
            return Result(DkimStatus.Neutral, "DKIM-Signature is not a tag list");
        if (Tag("v") != "1" || Tag("d").Length == 0 || Tag("s").Length == 0 || b.Length == 0 || Tag("bh").Length == 0 || Tag("h").Length == 0)
            return Result(DkimStatus.Neutral, "DKIM-Signature lacks v=1 or one of a=, b=, bh=, d=, h=, s="); // §3.5 required tags
        switch (Tag("a"))
        {
            case "rsa-sha256" or "ed25519-sha256":
                break;
            case "rsa-sha1":
                return Result(DkimStatus.PermError, "rsa-sha1 is not accepted (RFC 8301 §3.1)");
            case var other:
                return Result(DkimStatus.PermError, $"unknown algorithm a={other}");
        }
        if (!Tag("h").Split(':').Any(h => h.Trim().Equals("from", StringComparison.OrdinalIgnoreCase)))
            return Result(DkimStatus.PermError, "From is not signed (RFC 6376 §5.4)");
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (Tag("x") is { Length: > 0 } x)
        {
            if (!long.TryParse(x, NumberStyles.None, CultureInfo.InvariantCulture, out var expires))
                return Result(DkimStatus.Neutral, "x= is not a number");
            if (Tag("t") is { Length: > 0 } t && long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var signedAt) && expires <= signedAt)
                return Result(DkimStatus.Neutral, "x= is not after t="); // §3.5
            if (expires < now)
                return Result(DkimStatus.PermError, "signature expired"); // §3.5 x=, §6.1.1
        }
        try
        {
            var ok = await _verifier.VerifyAsync(FormatOptions.Default.WithDos(), message, field, deadline);
            return ok ? Result(DkimStatus.Pass, null) : Result(DkimStatus.Fail, "signature or body hash did not verify");
        }
        catch (DkimKeyException e)
        {
            return Result(e.Status, e.Message);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return Result(DkimStatus.TempError, "verification deadline passed");
        }
        catch (Exception e) when (e is FormatException or ParseException or ArgumentException)
        {
            return Result(DkimStatus.Neutral, "DKIM-Signature: " + e.Message);
        }
        catch (Exception e) when (e is Org.BouncyCastle.Crypto.CryptoException or System.Security.Cryptography.CryptographicException or NotSupportedException)
        {
            return Result(DkimStatus.Fail, e.Message);
        }
    }
}

internal static class FormatOptionsExtensions
{
    /// <summary>The queue keeps messages with CRLF line ends; MimeKit canonicalizes from them as they are.</summary>
    public static FormatOptions WithDos(this FormatOptions options)
    {
        var clone = options.Clone();
        clone.NewLineFormat = NewLineFormat.Dos;
        return clone;
    }
}
