// What a local part of a list means (docs/lists.md, "The command addresses"): the list itself (a
// post) or one of its commands in qmail's '-' extension form, with the VERP form of an address
// (user=host) where a command carries one.
namespace Mailward.Core.Lists;

public enum ListCommandKind
{
    Post,
    Subscribe,
    Unsubscribe,
    ConfirmSubscribe,
    ConfirmUnsubscribe,
    Help,
    Info,
    Request,
    Owner,
    Return,
    Accept,
    Reject,
    /// <summary>-get.N or -get.N_M: posts N to M from the archive.</summary>
    Get,
    /// <summary>-index or -index.N_M: one line per post.</summary>
    Index,
    /// <summary>A command not known: answered with help.</summary>
    Other,
}

/// <summary>A parsed command: its kind and what followed it (an address, a cookie, a bounce's number and subscriber);
/// <paramref name="Digest"/>: a -digest-(un)subscribe or its confirmation, for the digest set.</summary>
public sealed record ListCommand(ListCommandKind Kind, string Argument = "", string Time = "", string Hash = "", bool Digest = false);

public static class ListAddress
{
    /// <summary>user@host as user=host (the last '=' is the '@' when decoded).</summary>
    public static string VerpEncode(string address)
    {
        var at = address.LastIndexOf('@');
        return at < 0 ? address : address[..at] + "=" + address[(at + 1)..];
    }

    /// <summary>user=host back to user@host; null when there is no '='.</summary>
    public static string? VerpDecode(string text)
    {
        var eq = text.LastIndexOf('=');
        return eq <= 0 || eq == text.Length - 1 ? null : text[..eq] + "@" + text[(eq + 1)..];
    }

    /// <summary>N or N_M, digits only.</summary>
    private static bool IsRange(string s)
    {
        var u = s.IndexOf('_');
        return u < 0 ? s.Length > 0 && s.All(char.IsAsciiDigit)
            : u > 0 && u < s.Length - 1 && s[..u].All(char.IsAsciiDigit) && s[(u + 1)..].All(char.IsAsciiDigit);
    }

    /// <summary>The command <paramref name="extension"/> (what follows "NAME-"; empty for the list itself) names.</summary>
    public static ListCommand Parse(string extension)
    {
        var e = extension.ToLowerInvariant();
        if (e.Length == 0)
            return new ListCommand(ListCommandKind.Post);
        if (e.StartsWith("digest-", StringComparison.Ordinal))
        {
            // -digest-subscribe, -digest-unsubscribe and their -digest-sc. / -digest-uc. confirmations.
            var inner = Parse(e[7..]);
            return inner.Kind is ListCommandKind.Subscribe or ListCommandKind.Unsubscribe or ListCommandKind.ConfirmSubscribe or ListCommandKind.ConfirmUnsubscribe
                && !inner.Digest ? inner with { Digest = true } : new ListCommand(ListCommandKind.Other, e);
        }
        if (e is "subscribe" or "unsubscribe")
            return new ListCommand(e == "subscribe" ? ListCommandKind.Subscribe : ListCommandKind.Unsubscribe);
        if (e.StartsWith("subscribe-", StringComparison.Ordinal))
            return new ListCommand(ListCommandKind.Subscribe, e["subscribe-".Length..]);
        if (e.StartsWith("unsubscribe-", StringComparison.Ordinal))
            return new ListCommand(ListCommandKind.Unsubscribe, e["unsubscribe-".Length..]);
        if (e.StartsWith("sc.", StringComparison.Ordinal) || e.StartsWith("uc.", StringComparison.Ordinal))
        {
            // sc.TIME.HASH-user=host
            var dash = e.IndexOf('-');
            var parts = (dash < 0 ? e : e[..dash]).Split('.');
            var kind = e[0] == 's' ? ListCommandKind.ConfirmSubscribe : ListCommandKind.ConfirmUnsubscribe;
            return parts.Length == 3 && dash > 0
                ? new ListCommand(kind, e[(dash + 1)..], parts[1], parts[2])
                : new ListCommand(kind, "", "", "");
        }
        if (e.StartsWith("return-", StringComparison.Ordinal) || e == "return")
            return new ListCommand(ListCommandKind.Return, e.Length > 7 ? e[7..] : "");
        if (e.StartsWith("get.", StringComparison.Ordinal) && IsRange(e[4..]))
            return new ListCommand(ListCommandKind.Get, e[4..]);
        if (e == "index" || (e.StartsWith("index.", StringComparison.Ordinal) && IsRange(e[6..])))
            return new ListCommand(ListCommandKind.Index, e.Length > 5 ? e[6..] : "");
        if (e.StartsWith("accept-", StringComparison.Ordinal))
            return new ListCommand(ListCommandKind.Accept, e[7..]);
        if (e.StartsWith("reject-", StringComparison.Ordinal))
            return new ListCommand(ListCommandKind.Reject, e[7..]);
        return e switch
        {
            "help" => new ListCommand(ListCommandKind.Help),
            "info" => new ListCommand(ListCommandKind.Info),
            "request" => new ListCommand(ListCommandKind.Request),
            "owner" => new ListCommand(ListCommandKind.Owner),
            _ => new ListCommand(ListCommandKind.Other, e),
        };
    }
}
