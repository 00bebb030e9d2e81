// The archive by mail (docs/lists.md, "The archive by mail"): -get.N and -get.N_M answer with the
// posts as they arrived, attached; -index and -index.N_M with one entry per post (number, subject,
// date, author). Both are bounded by Lists:MaxGetPosts posts, -get also by Lists:MaxPostBytes bytes.
using System.Globalization;
using System.Text;
using Mailward.Core.Delivery;
using Mailward.Core.Queue;
using MimeKit;

namespace Mailward.Core.Lists;

public sealed partial class ListAgent
{
    /// <summary>N or N_M as a range; null when M is before N or either is 0.</summary>
    private static (long First, long Last)? Range(string argument)
    {
        var u = argument.IndexOf('_');
        if (!long.TryParse(u < 0 ? argument : argument[..u], NumberStyles.None, CultureInfo.InvariantCulture, out var first)
            || !long.TryParse(u < 0 ? argument : argument[(u + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var last)
            || first == 0 || last < first)
            return null;
        return (first, last);
    }

    /// <summary>-get.N, -get.N_M: the posts as they arrived, attached; the first Lists:MaxGetPosts of the range, within Lists:MaxPostBytes.</summary>
    private async Task<DeliveryResult> GetAsync(QueuedMessage message, ListFolder list, ListConfig config, string argument,
        Autoresponder.OriginalHeader header, CancellationToken ct)
    {
        var sender = message.Envelope.Sender;
        var range = Range(argument);
        var posts = new List<byte[]>();
        var found = new List<long>();
        var cut = "";
        if (range is var (first, last))
        {
            long bytes = 0;
            for (var n = first; n <= last; n++)
            {
                if (found.Count == options.MaxGetPosts)
                {
                    cut = $"\nOnly the first {options.MaxGetPosts} posts of the range are sent (Lists:MaxGetPosts); ask again from {ListFolder.Number(n)}.\n";
                    break;
                }
                if (ReadArchive(list, n) is not { } post)
                    continue;
                if (found.Count > 0 && bytes + post.Length > options.MaxPostBytes)
                {
                    cut = $"\nThe answer stops at post {ListFolder.Number(found[^1])}: more would pass the list's size limit; ask again from {ListFolder.Number(n)}.\n";
                    break;
                }
                bytes += post.Length;
                posts.Add(post);
                found.Add(n);
            }
        }
        if (found.Count == 0)
            return await AnswerAsync(message, list, sender, $"no post {argument} in {list.Address}",
                ListReplies.Refused(list, config, $"the archive has no post {argument}"), header, ct);
        if (range is var (one, only) && one == only)
            return await AnswerAsync(message, list, sender, $"post {ListFolder.Number(one)} of {list.Address}",
                $"Post {ListFolder.Number(one)} of {list.Address} is attached.\n", header, ct, attachments: posts);
        return await AnswerAsync(message, list, sender, $"posts {ListFolder.Number(found[0])} to {ListFolder.Number(found[^1])} of {list.Address}",
            $"Posts {string.Join(", ", found.Select(ListFolder.Number))} of {list.Address} are attached.\n" + cut, header, ct, attachments: posts);
    }

    /// <summary>-index (the last Lists:MaxGetPosts posts) or -index.N_M (the first Lists:MaxGetPosts of the range): one entry per post.</summary>
    private async Task<DeliveryResult> IndexAsync(QueuedMessage message, ListFolder list, ListConfig config, string argument,
        Autoresponder.OriginalHeader header, CancellationToken ct)
    {
        var sender = message.Envelope.Sender;
        long first, last;
        if (argument.Length == 0)
        {
            last = list.LastNumber();
            first = Math.Max(1, last - options.MaxGetPosts + 1);
        }
        else if (Range(argument) is var (f, l))
            (first, last) = (f, Math.Min(l, f + options.MaxGetPosts - 1));
        else
            return await AnswerAsync(message, list, sender, $"no posts {argument} in {list.Address}",
                ListReplies.Refused(list, config, $"{argument} is not a range N_M"), header, ct);
        var text = new StringBuilder($"Index of {list.Address}, posts {ListFolder.Number(first)} to {ListFolder.Number(last)}; send to {list.Name}-get.N@{list.Domain} for post N.\n\n");
        var entries = 0;
        for (var n = first; n <= last && last > 0; n++)
        {
            if (ReadArchive(list, n) is not { } post)
                continue;
            var fields = HeaderList.Load(new MemoryStream(post), ct);
            text.Append(ListFolder.Number(n)).Append(": ").Append(OneLine(fields[HeaderId.Subject] ?? "(no subject)")).Append('\n')
                .Append('\t').Append(OneLine(fields[HeaderId.Date] ?? "")).Append("  ").Append(OneLine(fields[HeaderId.From] ?? "")).Append('\n');
            entries++;
        }
        if (entries == 0)
            text.Append("(no posts)\n");
        return await AnswerAsync(message, list, sender, $"index of {list.Address}", text.ToString(), header, ct);
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
