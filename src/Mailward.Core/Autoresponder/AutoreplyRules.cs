// When an autoresponder answers: RFC 3834 §2 (and §5 for Auto-Submitted), in the order
// docs/autoresponder.md lists. Pure: the caller gives the envelope sender, the header and the
// answering address's names; the answer is null (reply) or the reason not to.
using Mailward.Core.Addresses;

namespace Mailward.Core.Autoresponder;

public static class AutoreplyRules
{
    /// <summary>qmail's double-bounce sender (#@[]): as null as &lt;&gt; for this purpose.</summary>
    private const string DoubleBounceSender = "#@[]";

    /// <summary>The reason not to answer, or null to answer. <paramref name="ownNames"/> are lower-case addresses.</summary>
    public static string? WhyNot(string sender, OriginalHeader header, IReadOnlySet<string> ownNames)
    {
        // §2: never answer a null address (bounces, DSNs, MDNs and other answers come from <>).
        if (sender.Length == 0 || sender == DoubleBounceSender)
            return "null sender";
        // §2, §5.1: a message whose Auto-Submitted is anything but "no" was sent by a program.
        foreach (var value in header.AutoSubmitted)
        {
            var keyword = value.Split(';', 2)[0].Trim();
            if (!keyword.Equals("no", StringComparison.OrdinalIgnoreCase))
                return "Auto-Submitted: " + keyword;
        }
        // §2: "Precedence: bulk", "list" or "junk" mark mail a personal answer is not for.
        foreach (var value in header.Precedence)
            if (value.Trim().ToLowerInvariant() is "bulk" or "list" or "junk")
                return "Precedence: " + value.Trim().ToLowerInvariant();
        // §2 with RFC 2369 and 2919: a List-* field is mailing list traffic.
        if (header.HasListField)
            return "List-* field";
        var normalSender = Normalize(sender);
        if (ownNames.Contains(normalSender))
            return "sent by the address itself";
        var at = normalSender.LastIndexOf('@');
        var senderLocal = at < 0 ? normalSender : normalSender[..at];
        // List managers and mail systems (vacation(1)'s and autorespond's rule).
        if (senderLocal == "mailer-daemon" || senderLocal.StartsWith("owner-", StringComparison.Ordinal) || senderLocal.EndsWith("-request", StringComparison.Ordinal))
            return "list or system sender";
        // §2: a personal responder answers only mail addressed to the person in To or Cc.
        if (!header.ToAndCc.Any(a => ownNames.Contains(Normalize(a))))
            return "not addressed in To or Cc";
        return null;
    }

    /// <summary>An address as the names are kept: lower case, the domain as its A-label.</summary>
    public static string Normalize(string address)
    {
        var at = address.LastIndexOf('@');
        if (at < 0)
            return address.ToLowerInvariant();
        var domain = address[(at + 1)..];
        if (DomainName.TryNormalize(domain, out var d, out _))
            domain = d;
        return (address[..at] + "@" + domain).ToLowerInvariant();
    }
}
