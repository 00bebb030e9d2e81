// Mailbox names on the wire ↔ folder names of the mail store. The personal namespace has a prefix
// and a separator (Courier's "INBOX." and "." by default: a client migrated from Courier then sees
// the same names); the store names folders "A/B". INBOX is INBOX in any case (RFC 9051 §5.1).
namespace Mailward.Protocols.Imap;

public sealed class ImapFolderNames(string prefix, char separator)
{
    public string Prefix => prefix;
    public char Separator => separator;

    /// <summary>The store's name for a wire name; null when it is outside the namespace or not a valid name.</summary>
    public string? ToStore(string wire)
    {
        if (wire.Equals("INBOX", StringComparison.OrdinalIgnoreCase))
            return "INBOX";
        string rest;
        if (prefix.Length == 0)
            rest = wire;
        else if (wire.Length > prefix.Length && wire.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            rest = wire[prefix.Length..];
        else
            return null;
        var levels = rest.Split(separator);
        if (levels.Any(l => l.Length == 0 || l.Contains('/', StringComparison.Ordinal) || (separator != '.' && l.Contains('.', StringComparison.Ordinal))))
            return null;
        var name = string.Join('/', levels);
        return name.Equals("INBOX", StringComparison.OrdinalIgnoreCase) && prefix.Length == 0 ? "INBOX" : name;
    }

    /// <summary>The wire name of a store folder.</summary>
    public string ToWire(string store) =>
        store == "INBOX" ? "INBOX" : prefix + store.Replace('/', separator);
}
