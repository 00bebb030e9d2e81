// The RFC5322.From domains DMARC evaluates (RFC 7489 §6.6.1): every mailbox of every From field of
// the message's header block, read with the same bound as DKIM's (Dkim:MaxHeaderBytes). Several
// domains are each evaluated and the strictest result applies, as §6.6.1 allows, so a second
// address in From: is no way around a domain's policy.
using System.Globalization;
using Mailward.Core.Dkim;
using MimeKit;

namespace Mailward.Core.Dmarc;

public static class AuthorDomains
{
    /// <summary>Most domains evaluated for one message; the rest are ignored (a From: of many domains is not a way to make the door ask DNS without end).</summary>
    public const int MaxDomains = 5;

    /// <summary>The distinct From: domains in ASCII lower case, in order; empty when the header has none, cannot be read or is longer than <paramref name="maxHeaderBytes"/>.</summary>
    public static async Task<IReadOnlyList<string>> ReadAsync(Stream message, int maxHeaderBytes, CancellationToken ct)
    {
        var header = await DkimHeaderBlock.ReadAsync(message, maxHeaderBytes, ct);
        if (header is null)
            return [];
        HeaderList fields;
        try
        {
            fields = HeaderList.Load(new MemoryStream(header), ct);
        }
        catch (FormatException)
        {
            return [];
        }
        var idn = new IdnMapping();
        var domains = new List<string>();
        foreach (var field in fields.Where(f => f.Id == HeaderId.From))
        {
            if (!InternetAddressList.TryParse(ParserOptions.Default, field.RawValue, out var list))
                continue;
            foreach (var mailbox in list.Mailboxes)
            {
                string domain;
                try
                {
                    domain = idn.GetAscii(mailbox.Domain.TrimEnd('.')).ToLowerInvariant();
                }
                catch (ArgumentException)
                {
                    continue; // not a domain name DNS could answer for
                }
                if (domain.Length > 0 && !domains.Contains(domain))
                    domains.Add(domain);
                if (domains.Count == MaxDomains)
                    return domains;
            }
        }
        return domains;
    }
}
