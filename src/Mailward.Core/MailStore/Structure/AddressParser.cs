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
            if (AddrSpec(ref t, out var trailingComment) is not { } address)
            {
                t.Skip(); // a character no address can start with: skipped
                continue;
            }
            list.Add(new EnvelopeAddress(trailingComment ?? comment, null, address.Mailbox, address.Host));
        }
        if (inGroup && list.Count < max)
            list.Add(EnvelopeAddress.GroupEnd); // a group the header did not close
        return list;
    }

    /// <summary>Words (atoms and quoted strings) joined by one space, and the last comment among them.</summary>
    private static (string Phrase, string? Comment) Phrase(ref HeaderTokens t)
    {
        var words = new Joined(' ');
        string? comment = null;
        while (true)
        {
            comment = t.SkipCfws() ?? comment;
            if (t.Peek == '"')
                words.Add(t.ReadQuoted());
            else if (t.ReadAtom() is { Length: > 0 } atom)
                words.Add(atom);
            else
                break;
        }
        return (words.Text, comment);
    }

    /// <summary>
    /// Words joined by a separator, with no builder for the common case of one word (a quoted
    /// display name, a local part whose dots are inside its atom).
    /// </summary>
    private struct Joined(char? separator)
    {
        private string? _first;
        private StringBuilder? _more;

        public void Add(string word)
        {
            if (_more is null && string.IsNullOrEmpty(_first))
            {
                _first = word;
                return;
            }
            _more ??= new StringBuilder(_first);
            if (separator is { } s && _more.Length > 0)
                _more.Append(s);
            _more.Append(word);
        }

        /// <summary>Appends a character to what is there (a local part's dot).</summary>
        public void Add(char c) => (_more ??= new StringBuilder(_first)).Append(c);

        public readonly string Text => _more?.ToString() ?? _first ?? "";
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
        var (mailbox, host) = AddrSpec(ref t, out _) ?? (MissingMailbox, MissingDomain);
        while (!t.AtEnd && t.Peek != '>' && t.Peek != ',')
            t.Skip();
        if (t.Peek == '>')
            t.Skip();
        return new EnvelopeAddress(name is { Length: > 0 } ? name : null, route, mailbox, host);
    }

    /// <summary>local-part ["@" domain]; null when nothing address-like is here.</summary>
    private static (string Mailbox, string Host)? AddrSpec(ref HeaderTokens t, out string? comment)
    {
        comment = t.SkipCfws();
        var local = new Joined(null);
        while (true)
        {
            if (t.Peek == '"')
                local.Add(t.ReadQuoted()); // without its quotes, as Dovecot lists it
            else if (t.ReadAtom() is { Length: > 0 } atom)
                local.Add(atom);
            else
                break;
            t.SkipCfws();
            if (t.Peek != '.')
                break;
            local.Add('.');
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
        var mailbox = local.Text;
        if (mailbox.Length == 0 && domain is null)
            return null;
        return (mailbox.Length > 0 ? mailbox : MissingMailbox, domain is { Length: > 0 } ? domain : MissingDomain);
    }
}
