// The tag=value lists of RFC 6376 §3.2, used by the DKIM-Signature field and the key record:
// names are case-sensitive, whitespace around names and values (and folding) is ignored, a
// duplicate name is an error, a trailing ";" is allowed.
namespace Mailward.Core.Dkim;

public static class DkimTags
{
    /// <summary>The tags of <paramref name="text"/>, or null when it is not a tag list (§3.2).</summary>
    public static IReadOnlyDictionary<string, string>? Parse(string text)
    {
        var tags = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in text.Split(';'))
        {
            var spec = part.Trim(' ', '\t', '\r', '\n');
            if (spec.Length == 0)
                continue;
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
                return null;
            var name = spec[..eq].Trim(' ', '\t', '\r', '\n');
            if (name.Length == 0 || !char.IsAsciiLetter(name[0]) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
                return null;
            if (!tags.TryAdd(name, spec[(eq + 1)..].Trim(' ', '\t', '\r', '\n')))
                return null; // §3.2: duplicate tags MUST NOT occur
        }
        return tags;
    }

    /// <summary>A value with every whitespace character removed (b=, bh= and p= may be folded anywhere, §3.5).</summary>
    public static string Compact(string value) => string.Concat(value.Where(c => c is not (' ' or '\t' or '\r' or '\n')));
}
