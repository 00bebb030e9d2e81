// qmail's VERP envelope sender (Variable Envelope Return Path): a sender PREFIX@DOMAIN-@[] stands
// for PREFIX user=host@DOMAIN, made for each recipient user@host at delivery. One queue message
// carries a list post to every subscriber, and each copy's bounce names its subscriber
// (docs/lists.md, "The copies"). Local delivery, remote delivery and bounces expand it.
namespace Mailward.Core.Delivery;

public static class Verp
{
    /// <summary>What ends a VERP sender (qmail-send's convention, which ezmlm uses).</summary>
    public const string Marker = "-@[]";

    /// <summary>PREFIX@DOMAIN-@[] with a non-empty DOMAIN.</summary>
    public static bool IsTemplate(string sender) =>
        sender.EndsWith(Marker, StringComparison.Ordinal) && sender.LastIndexOf('@', sender.Length - Marker.Length - 1) is > 0 and var at
        && at < sender.Length - Marker.Length - 1;

    /// <summary>The sender for one recipient: PREFIX user=host@DOMAIN; any other sender as it is.</summary>
    public static string Expand(string sender, string recipient)
    {
        if (!IsTemplate(sender))
            return sender;
        var s = sender[..^Marker.Length];
        var at = s.LastIndexOf('@');
        var rat = recipient.LastIndexOf('@');
        var encoded = rat < 0 ? recipient : recipient[..rat] + "=" + recipient[(rat + 1)..];
        return s[..at] + encoded + s[at..];
    }

    /// <summary>The template for PREFIX and DOMAIN.</summary>
    public static string Template(string prefix, string domain) => $"{prefix}@{domain}{Marker}";
}
