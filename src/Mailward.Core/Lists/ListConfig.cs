// A list's settings (the config file, docs/lists.md): who may post, the subject prefix, Reply-To,
// the DMARC From rewrite, the size limit, the owner, the unsubscribe confirmation, the trailer.
// Parsed strictly (a bad value is a damaged file); unknown keys are kept for a later version.
using System.Globalization;
using System.Text;

namespace Mailward.Core.Lists;

public enum PostingPolicy
{
    Open,
    Subscribers,
    Moderated,
    Announce,
}

public enum ReplyToPolicy
{
    None,
    List,
    Poster,
}

public enum FromRewrite
{
    Never,
    Always,
    Dmarc,
}

public sealed record ListConfig
{
    public const string Magic = "mailward-list-config 1";

    public string Name { get; init; } = "";
    public PostingPolicy Policy { get; init; } = PostingPolicy.Open;
    public string Prefix { get; init; } = "";
    public ReplyToPolicy ReplyTo { get; init; } = ReplyToPolicy.None;
    public FromRewrite FromRewrite { get; init; } = FromRewrite.Never;
    /// <summary>0: Lists:MaxPostBytes.</summary>
    public long MaxBytes { get; init; }
    public string Owner { get; init; } = "";
    public bool ConfirmUnsubscribe { get; init; } = true;
    /// <summary>Text appended to a text/plain post; lines joined with \n.</summary>
    public string Trailer { get; init; } = "";
    /// <summary>Keys this version does not know, kept as they were.</summary>
    public IReadOnlyList<string> Unknown { get; init; } = [];

    public static string Keyword<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();

    public static T ParseKeyword<T>(string text, string what) where T : struct, Enum =>
        Enum.TryParse<T>(text, ignoreCase: true, out var v) && Enum.IsDefined(v) && !int.TryParse(text, out _)
            ? v : throw new FormatException($"{what}: not one of {string.Join(", ", Enum.GetNames<T>().Select(n => n.ToLowerInvariant()))}: {text}");

    public string Format()
    {
        var b = new StringBuilder();
        b.Append("name: ").Append(OneLine(Name)).Append('\n');
        b.Append("policy: ").Append(Keyword(Policy)).Append('\n');
        b.Append("prefix: ").Append(OneLine(Prefix)).Append('\n');
        b.Append("reply-to: ").Append(Keyword(ReplyTo)).Append('\n');
        b.Append("from-rewrite: ").Append(Keyword(FromRewrite)).Append('\n');
        b.Append("max-bytes: ").Append(MaxBytes.ToString(CultureInfo.InvariantCulture)).Append('\n');
        b.Append("owner: ").Append(OneLine(Owner)).Append('\n');
        b.Append("confirm-unsubscribe: ").Append(ConfirmUnsubscribe ? "yes" : "no").Append('\n');
        b.Append("trailer: ").Append(Trailer.ReplaceLineEndings("\n").Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)).Append('\n');
        foreach (var u in Unknown)
            b.Append(u).Append('\n');
        return b.ToString();
    }

    /// <exception cref="FormatException">A line that is not "key: value" or a bad value.</exception>
    public static ListConfig Parse(IReadOnlyList<string> lines)
    {
        var c = new ListConfig();
        var unknown = new List<string>();
        foreach (var line in lines)
        {
            var colon = line.IndexOf(": ", StringComparison.Ordinal);
            if (colon <= 0)
            {
                if (line.EndsWith(':'))
                    colon = line.Length - 1;
                else
                    throw new FormatException("not \"key: value\": " + line);
            }
            var key = line[..colon];
            var value = colon + 2 <= line.Length ? line[(colon + 2)..] : "";
            c = key switch
            {
                "name" => c with { Name = value },
                "policy" => c with { Policy = ParseKeyword<PostingPolicy>(value, "policy") },
                "prefix" => c with { Prefix = value },
                "reply-to" => c with { ReplyTo = ParseKeyword<ReplyToPolicy>(value, "reply-to") },
                "from-rewrite" => c with { FromRewrite = ParseKeyword<FromRewrite>(value, "from-rewrite") },
                "max-bytes" => c with { MaxBytes = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= int.MaxValue ? n : throw new FormatException("max-bytes: " + value) },
                "owner" => c with { Owner = value },
                "confirm-unsubscribe" => c with { ConfirmUnsubscribe = value == "yes" || (value == "no" ? false : throw new FormatException("confirm-unsubscribe: " + value)) },
                "trailer" => c with { Trailer = Unescape(value) },
                _ => c,
            };
            if (key is not ("name" or "policy" or "prefix" or "reply-to" or "from-rewrite" or "max-bytes" or "owner" or "confirm-unsubscribe" or "trailer"))
                unknown.Add(line);
        }
        return c with { Unknown = unknown };
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ");

    private static string Unescape(string s)
    {
        var b = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length)
            {
                i++;
                b.Append(s[i] == 'n' ? '\n' : s[i]);
            }
            else
                b.Append(s[i]);
        }
        return b.ToString();
    }
}
