// The copy of a post the subscribers get (docs/lists.md, "The copies"): the post's own fields
// that would lie about this list removed; Delivered-To, List-Id (RFC 2919), List-Help, -Subscribe,
// -Post (RFC 2369 §3), Precedence: list, Mailing-List and the number added; the subject prefix,
// Reply-To, the DMARC From rewrite and the trailer by the list's settings. List-Unsubscribe is not
// here: it differs per subscriber (RFC 8058's token) and is added at delivery (ListOneClick).
using System.Text;
using MimeKit;

namespace Mailward.Core.Lists;

public static class ListCopyBuilder
{
    public const string NumberField = "X-Mailward-List-Number";

    /// <summary>Fields a post brings that the list replaces (its own List-*, Precedence, ...).</summary>
    private static readonly string[] Removed = ["Precedence", "Return-Path", NumberField, "Mailing-List"];

    /// <summary>RFC 2919 §3: "phrase" &lt;NAME.DOMAIN&gt;.</summary>
    public static string ListId(ListFolder list, ListConfig? config) =>
        (config is { Name.Length: > 0 } ? Quote(config.Name) + " " : "") + $"<{list.Name}.{list.Domain}>";

    /// <summary>True when the post carries this list's List-Id or a Mailing-List field naming it: it came from the list (a loop).</summary>
    public static bool IsFromThisList(MimeMessage post, ListFolder list)
    {
        var id = $"<{list.Name}.{list.Domain}>";
        foreach (var h in post.Headers)
        {
            if (h.Field.Equals("List-Id", StringComparison.OrdinalIgnoreCase) && h.Value.Contains(id, StringComparison.OrdinalIgnoreCase))
                return true;
            if (h.Field.Equals("Mailing-List", StringComparison.OrdinalIgnoreCase) && h.Value.Contains(list.Address, StringComparison.OrdinalIgnoreCase))
                return true;
        }
        return false;
    }

    /// <param name="rewriteFrom">The From rewrite applies (from-rewrite always, or dmarc and the poster's domain asks for it).</param>
    public static byte[] Build(MimeMessage post, ListFolder list, ListConfig config, long number, bool rewriteFrom)
    {
        var d = list.Domain;
        var n = list.Name;
        for (var i = post.Headers.Count - 1; i >= 0; i--)
        {
            var f = post.Headers[i].Field;
            if (f.StartsWith("List-", StringComparison.OrdinalIgnoreCase) || Removed.Any(r => r.Equals(f, StringComparison.OrdinalIgnoreCase)))
                post.Headers.RemoveAt(i);
        }
        if (config.Prefix.Length > 0)
        {
            var subject = post.Subject ?? "";
            if (!subject.Contains(config.Prefix, StringComparison.OrdinalIgnoreCase))
                post.Subject = config.Prefix + " " + subject;
        }
        var originalFrom = post.From.Mailboxes.FirstOrDefault();
        if (rewriteFrom && originalFrom is not null)
        {
            // "Name via Team" <team@DOMAIN>; the poster's address goes to Reply-To (docs/lists.md).
            var who = originalFrom.Name is { Length: > 0 } name ? name : originalFrom.Address;
            post.From.Clear();
            post.From.Add(new MailboxAddress($"{who} via {(config.Name.Length > 0 ? config.Name : n)}", list.Address));
            post.ReplyTo.Clear();
            if (config.ReplyTo == ReplyToPolicy.List)
                post.ReplyTo.Add(new MailboxAddress("", list.Address));
            post.ReplyTo.Add(originalFrom);
        }
        else if (config.ReplyTo == ReplyToPolicy.List)
        {
            post.ReplyTo.Clear();
            post.ReplyTo.Add(new MailboxAddress("", list.Address));
        }
        else if (config.ReplyTo == ReplyToPolicy.Poster && originalFrom is not null)
        {
            post.ReplyTo.Clear();
            post.ReplyTo.Add(originalFrom);
        }
        post.Headers.Add("List-Id", ListId(list, config));
        post.Headers.Add("List-Help", $"<mailto:{n}-help@{d}>");
        post.Headers.Add("List-Subscribe", $"<mailto:{n}-subscribe@{d}>");
        post.Headers.Add("List-Post", config.Policy == PostingPolicy.Announce ? "NO" : $"<mailto:{n}@{d}>");
        post.Headers.Add("Precedence", "list");
        post.Headers.Add("Mailing-List", $"list {list.Address}; contact {n}-owner@{d}");
        post.Headers.Add(NumberField, ListFolder.Number(number));
        if (config.Trailer.Length > 0 && post.Body is TextPart { IsPlain: true } text && !text.IsAttachment)
        {
            // Only a plain text body is ours to extend; other types are left whole.
            var body = text.GetText(out var encoding);
            text.SetText(encoding ?? Encoding.UTF8, body.TrimEnd('\r', '\n') + "\n\n-- \n" + config.Trailer.ReplaceLineEndings("\n") + "\n");
        }
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var output = new MemoryStream();
        output.Write(Encoding.ASCII.GetBytes($"Delivered-To: {list.Address}\r\n"));
        post.WriteTo(options, output);
        return output.ToArray();
    }

    private static string Quote(string phrase) => "\"" + phrase.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
