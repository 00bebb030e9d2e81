// DKIM signing (RFC 6376 §5) of a message on its way to a remote host: the From: domain's active key
// (docs/dkim-keys.md), relaxed/relaxed (§3.4.2, §3.4.4), rsa-sha256 or ed25519-sha256 (RFC 8463),
// over the author and list fields that are present. MimeKit's DkimSigner computes the field over
// the queued message read from its file (header bounded, body streamed); the caller sends the
// field followed by the queued bytes unchanged, so forwards, bounces and list posts are signed too.
using System.Text;
using MimeKit;
using MimeKit.Cryptography;

namespace Mailward.Core.Dkim;

public sealed class DkimMessageSigner(DkimKeyStore keys, int maxHeaderBytes)
{
    /// <summary>
    /// Signed when present (§5.4.1's recommended set, and RFC 8058 §4: List-Unsubscribe and
    /// List-Unsubscribe-Post must be covered for one-click unsubscribe); MIME fields so that the
    /// body's meaning cannot be changed under the signature.
    /// </summary>
    public static readonly IReadOnlyList<string> SignedFields =
    [
        "From", "Reply-To", "Subject", "Date", "To", "Cc", "Message-ID", "In-Reply-To", "References",
        "MIME-Version", "Content-Type", "Content-Transfer-Encoding", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
    ];

    /// <summary>What signing found: the field to put on top (CRLF-terminated), or why not.</summary>
    public sealed record Outcome(byte[]? Field, string Domain, string Selector, string? Skipped);

    /// <summary>
    /// The DKIM-Signature field for the message <paramref name="open"/> reads (from its start), or a
    /// null field when its From: domain has no active key or the message cannot be signed.
    /// </summary>
    public async Task<Outcome> SignAsync(Func<Stream> open, CancellationToken ct = default)
    {
        byte[]? header;
        await using (var s = open())
            header = await DkimHeaderBlock.ReadAsync(s, maxHeaderBytes, ct);
        if (header is null)
            return new Outcome(null, "", "", $"header longer than {maxHeaderBytes} bytes");
        var domain = FromDomain(header);
        if (domain is null)
            return new Outcome(null, "", "", "no single From: address");
        var key = keys.Signing(domain);
        if (key is null)
            return new Outcome(null, domain, "", null); // not signed here: no key, the ordinary case
        await using var stream = open();
        // persistent: the body stays in the queue file; only the header is in memory (bounded above).
        var message = await MimeMessage.LoadAsync(ParserOptions.Default, stream, persistent: true, ct);
        var signer = new DkimSigner(key.Private!, domain, key.Selector,
            key.Algorithm == DkimKey.Ed25519 ? DkimSignatureAlgorithm.Ed25519Sha256 : DkimSignatureAlgorithm.RsaSha256)
        {
            HeaderCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
            BodyCanonicalizationAlgorithm = DkimCanonicalizationAlgorithm.Relaxed,
        };
        var present = SignedFields.Where(f => message.Headers.Contains(f)).ToList();
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        signer.Sign(options, message, present);
        var field = message.Headers[0];
        if (field.Id != HeaderId.DkimSignature)
            return new Outcome(null, domain, key.Selector, "MimeKit did not add the field on top");
        var bytes = new List<byte>(Encoding.ASCII.GetBytes(field.Field + ":"));
        bytes.AddRange(field.RawValue);
        var text = Encoding.ASCII.GetString([.. bytes]).ReplaceLineEndings("\r\n");
        if (!text.EndsWith("\r\n", StringComparison.Ordinal))
            text += "\r\n";
        return new Outcome(Encoding.ASCII.GetBytes(text), domain, key.Selector, null);
    }

    /// <summary>RFC 5322 §3.6.2: the author's domain, when the header has exactly one From field with one mailbox.</summary>
    private static string? FromDomain(byte[] header)
    {
        HeaderList fields;
        try
        {
            fields = HeaderList.Load(new MemoryStream(header));
        }
        catch (FormatException)
        {
            return null;
        }
        if (fields.Count(h => h.Id == HeaderId.From) != 1 || !InternetAddressList.TryParse(fields[HeaderId.From], out var list)
            || list.Mailboxes.Count() != 1)
            return null;
        var domain = list.Mailboxes.Single().Domain;
        try
        {
            return DkimKeyStore.NormalizeDomain(domain);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
