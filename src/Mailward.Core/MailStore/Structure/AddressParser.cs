// Address headers (From, To, ...) as the envelope lists them (RFC 9051 §7.5.2): name, route,
// mailbox and host per address, groups as start and end markers; lenient like Dovecot (RFC 5322
// §3.4 with its obsolete forms, a missing part named MISSING_MAILBOX / MISSING_DOMAIN), at most
// MaxAddresses entries so a huge header costs bounded work.
using System.Text;

namespace Mailward.Core.MailStore.Structure;

internal static class AddressParser
{
    public const string MissingMailbox = "MISSING_MAILBOX";
    public const string MissingDomain = "MISSING_DOMAIN";

    public static List<EnvelopeAddress> Parse(string raw, int max)
    {
        var t = new HeaderTokens(HeaderTokens.Unfold(raw));
        var list = new List<EnvelopeAddress>();
        var inGroup = false;
        while (list.Count < max)
        {
            t.SkipCfws();
            if (t.AtEnd)
                break;
            if (t.Peek == ',')
            {
                t.Skip();
                continue;
            }
            if (inGroup && t.Peek == ';')
            {
                t.Skip();
                list.Add(EnvelopeAddress.GroupEnd);
                inGroup = false;
                continue;
            }
            var start = t.Position;
            var (phrase, comment) = Phrase(ref t);
            t.SkipCfws();
            if (t.Peek == ':' && !inGroup && phrase.Length > 0)
            {
                t.Skip();
                list.Add(new EnvelopeAddress(null, null, phrase, null));
                inGroup = true;
                continue;
            }
            if (t.Peek == '<')
            {
                t.Skip();
                list.Add(Angle(ref t, phrase.Length > 0 ? phrase : comment));
                continue;
            }
            t.Position = start;
            var address = AddrSpec(ref t, out var trailingComment);
            if (address is null)
            {
                t.Skip(); // a character no address can start with: skipped
                continue;
            }
            list.Add(address with { Name = trailingComment ?? comment });
        }
        if (inGroup && list.Count < max)
            list.Add(EnvelopeAddress.GroupEnd); // a group the header did not close
        return list;
    }

    /// <summary>Words (atoms and quoted strings) joined by one space, and the last comment among them.</summary>
    private static (string Phrase, string? Comment) Phrase(ref HeaderTokens t)
    {
        var sb = new StringBuilder();
        string? comment = null;
        while (true)
        {
            comment = t.SkipCfws() ?? comment;
            string word;
            if (t.Peek == '"')
                word = t.ReadQuoted();
            else
            {
                word = t.ReadAtom();
                if (word.Length == 0)
                    break;
            }
            if (sb.Length > 0)
                sb.Append(' ');
            sb.Append(word);
        }
        return (sb.ToString(), comment);
    }

    /// <summary>After '&lt;': [route ':'] addr-spec '&gt;'.</summary>
    private static EnvelopeAddress Angle(ref HeaderTokens t, string? name)
    {
        t.SkipCfws();
        string? route = null;
        if (t.Peek == '@')
        {
            var sb = new StringBuilder();
            while (!t.AtEnd && t.Peek != ':' && t.Peek != '>')
            {
                sb.Append(t.Peek);
                t.Skip();
            }
            if (t.Peek == ':')
            {
                t.Skip();
                route = sb.ToString().Replace(" ", "", StringComparison.Ordinal);
            }
        }
        var spec = AddrSpec(ref t, out _) ?? new EnvelopeAddress(null, null, MissingMailbox, MissingDomain);
        while (!t.AtEnd && t.Peek != '>' && t.Peek != ',')
            t.Skip();
        if (t.Peek == '>')
            t.Skip();
        return spec with { Name = name is { Length: > 0 } ? name : null, Route = route };
    }

    /// <summary>local-part ["@" domain]; null when nothing address-like is here.</summary>
    private static EnvelopeAddress? AddrSpec(ref HeaderTokens t, out string? comment)
    {
        comment = t.SkipCfws();
        var local = new StringBuilder();
        while (true)
        {
            if (t.Peek == '"')
                local.Append(t.ReadQuoted()); // without its quotes, as Dovecot lists it
            else
            {
                var atom = t.ReadAtom();
                if (atom.Length == 0)
                    break;
                local.Append(atom);
            }
            t.SkipCfws();
            if (t.Peek != '.')
                break;
            local.Append('.');
            t.Skip();
            t.SkipCfws();
        }
        t.SkipCfws();
        string? domain = null;
        if (t.Peek == '@')
        {
            t.Skip();
            t.SkipCfws();
            domain = t.Peek == '[' ? t.ReadLiteral() : t.ReadAtom();
        }
        comment = t.SkipCfws() ?? comment;
        if (local.Length == 0 && domain is null)
            return null;
        return new EnvelopeAddress(null, null, local.Length > 0 ? local.ToString() : MissingMailbox, domain is { Length: > 0 } ? domain : MissingDomain);
    }
}
