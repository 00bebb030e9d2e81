// Digests (docs/lists.md, "Digests"): the digest subscribers get one message of the posts since the
// last digest (multipart/digest, RFC 2046 §5.1.5) once Lists:DigestPosts posts or Lists:DigestBytes
// bytes have gathered or the oldest is Lists:DigestHours old; looked at after every post, as ezmlm-tstdig,
// and by the digest timer (ListDigestTimer) for lists nobody posts to.
using System.Globalization;
using System.Text;
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;
using MimeKit;
using MimeKit.Utils;

namespace Mailward.Core.Lists;

public sealed partial class ListAgent
{
    private const string DigestedMagic = "mailward-list-digested 1";

    /// <summary>digested's N; null when there is no file.</summary>
    private static long? ReadDigested(ListFolder list)
    {
        var path = list.PathOf("digested");
        var lines = ListFile.ReadLines(path, DigestedMagic);
        if (lines is null)
            return null;
        return lines.Count == 1 && lines[0].StartsWith("last: ", StringComparison.Ordinal)
            && long.TryParse(lines[0].AsSpan(6), NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? n : throw new ListDamagedException(path, "not \"last: N\"");
    }

    private static void WriteDigested(ListFolder list, long last) =>
        ListFile.Write(list.PathOf("digested"), DigestedMagic, $"last: {ListFolder.Number(last)}");

    /// <summary>ezmlm-tstdig's test and ezmlm-get's digest (docs/lists.md, "Digests"). The caller holds the list's lock; true when a digest went out.</summary>
    private async Task<bool> LookAtDigestAsync(ListFolder list, ListConfig config, CancellationToken ct)
    {
        var num = list.LastNumber();
        var done = ReadDigested(list);
        var members = list.Members(MemberSet.Digest);
        if (members.Count == 0)
        {
            // Nobody is owed these posts: a later digest subscriber starts from the next one.
            if (done is { } d && d < num)
                WriteDigested(list, num);
            return false;
        }
        var last = done ?? num - 1;
        var posts = new List<(long Number, byte[] Post)>();
        long bytes = 0;
        long oldest = 0;
        for (var n = last + 1; n <= num && posts.Count < options.DigestPosts && bytes < options.DigestBytes; n++)
        {
            if (ReadArchive(list, n) is not { } post)
                continue;
            if (posts.Count == 0)
                oldest = ArchiveReceived(list, n);
            posts.Add((n, post));
            bytes += post.Length;
        }
        var now = _time.GetUtcNow();
        var due = posts.Count > 0 && (posts.Count >= options.DigestPosts || bytes >= options.DigestBytes
            || now - DateTimeOffset.FromUnixTimeSeconds(oldest) >= options.DigestWait);
        if (!due)
        {
            if (done is null)
                WriteDigested(list, last); // where this digest subscriber's first digest starts
            return false;
        }
        var message = BuildDigest(list, config, posts, now);
        // Its own return address (a bounce of it is dropped as an answer's): what tells delivery to put
        // each digest subscriber's List-Unsubscribe on top (ListOneClick, IRecipientFields).
        await using var tx = queue.Begin(new QueueEnvelope($"{list.Name}-return-digest-@{list.Domain}", members, "127.0.0.1", hostname, ListOneClick.QueueProtocol));
        await tx.WriteAsync(message, ct);
        var id = await tx.CommitAsync(ct);
        WriteDigested(list, posts[^1].Number); // after the commit: a crash between sends it twice, never not
        DigestSent(_log, id, list.Address, posts[0].Number, posts[^1].Number, members.Count);
        return true;
    }

    /// <summary>
    /// The digest timer's look (ListDigestTimer): every list of <paramref name="domains"/> that has
    /// digest subscribers, under its lock, as after a post, so a quiet list's digest goes out when
    /// its oldest post is Lists:DigestHours old (ezmlm's cron job running ezmlm-tstdig). A list that
    /// is damaged or busy is skipped (logged) until the next look. Returns (lists looked at, digests sent).
    /// </summary>
    public async Task<(int Lists, int Sent)> LookAtDigestsAsync(IEnumerable<Accounts.DomainRecord> domains, CancellationToken ct)
    {
        var (looked, sent) = (0, 0);
        foreach (var domain in domains)
            foreach (var list in lists.Lists(domain))
            {
                ct.ThrowIfCancellationRequested();
                try
                {
                    if (list.Members(MemberSet.Digest).Count == 0)
                        continue; // nobody owed a digest: the next post moves `digested` on
                    looked++;
                    using (list.Lock(options.LockWait))
                        if (await LookAtDigestAsync(list, list.ReadConfig(), ct))
                            sent++;
                }
                catch (Exception e) when (e is ListDamagedException or TimeoutException)
                {
                    Damaged(_log, "-", list.Address, e.Message);
                }
            }
        DigestsLooked(_log, looked, sent);
        return (looked, sent);
    }

    /// <summary>archive/B/N's `received` (Unix seconds).</summary>
    private static long ArchiveReceived(ListFolder list, long number)
    {
        var path = ArchivePath(list, number);
        var content = ListFile.ReadRaw(path) ?? [];
        var end = content.AsSpan().IndexOf("\n\n"u8);
        var line = Encoding.UTF8.GetString(content, 0, Math.Max(end, 0)).Split('\n').FirstOrDefault(l => l.StartsWith("received: ", StringComparison.Ordinal));
        return line is not null && long.TryParse(line.AsSpan(10), NumberStyles.None, CultureInfo.InvariantCulture, out var t)
            ? t : throw new ListDamagedException(path, "no received: time");
    }

    /// <summary>The digest: the contents as text, then the posts as they arrived in a multipart/digest (RFC 2046 §5.1.5).</summary>
    private byte[] BuildDigest(ListFolder list, ListConfig config, List<(long Number, byte[] Post)> posts, DateTimeOffset now)
    {
        var d = list.Domain;
        var n = list.Name;
        var first = ListFolder.Number(posts[0].Number);
        var last = ListFolder.Number(posts[^1].Number);
        var title = config.Name.Length > 0 ? config.Name : n;
        var m = new MimeMessage();
        m.From.Add(new MailboxAddress(title, list.Address));
        m.To.Add(new MailboxAddress("", list.Address));
        m.Subject = (config.Prefix.Length > 0 ? config.Prefix + " " : "") + $"{title} digest, posts {first} to {last}";
        m.Date = now;
        m.MessageId = MimeUtils.GenerateMessageId(hostname);
        m.Headers.Add("List-Id", ListCopyBuilder.ListId(list, config));
        m.Headers.Add("List-Help", $"<mailto:{n}-help@{d}>");
        m.Headers.Add("List-Subscribe", $"<mailto:{n}-digest-subscribe@{d}>");
        // No List-Unsubscribe here: delivery puts each digest subscriber's on top (ListOneClick.FieldsAsync).
        m.Headers.Add("List-Post", config.Policy == PostingPolicy.Announce ? "NO" : $"<mailto:{n}@{d}>");
        m.Headers.Add("Precedence", "list");
        m.Headers.Add("Mailing-List", $"list {list.Address}; contact {n}-owner@{d}");
        m.Headers.Add("X-Mailward-List-Digest", $"{first}-{last}");
        var contents = new StringBuilder($"{title} digest: posts {first} to {last} of {list.Address}.\n\n");
        var digest = new Multipart("digest");
        foreach (var (number, post) in posts)
        {
            var message = MimeMessage.Load(new MemoryStream(post));
            contents.Append(ListFolder.Number(number)).Append(": ").Append(OneLine(message.Subject ?? "(no subject)")).Append('\n')
                .Append('\t').Append(OneLine(message.Headers[HeaderId.From] ?? "")).Append('\n');
            digest.Add(new MessagePart { Message = message });
        }
        contents.Append($"\nTo leave the digest, write to {n}-digest-unsubscribe@{d}; to post, to {list.Address}.\n");
        var text = new TextPart("plain");
        text.SetText(Encoding.UTF8, contents.ToString());
        text.ContentTransferEncoding = contents.ToString().Any(c => c > 126) ? ContentEncoding.QuotedPrintable : ContentEncoding.SevenBit;
        m.Body = new Multipart("mixed") { text, digest };
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = NewLineFormat.Dos;
        using var output = new MemoryStream();
        m.WriteTo(options, output);
        return output.ToArray();
    }

    [LoggerMessage(EventId = 3222, Level = LogLevel.Information, Message = "list digest timer lists={Lists} sent={Sent}")]
    private static partial void DigestsLooked(ILogger logger, int lists, int sent);

    [LoggerMessage(EventId = 3219, Level = LogLevel.Information, Message = "list digest id={QueueId} list=<{List}> posts={First}-{Last} recipients={Recipients}")]
    private static partial void DigestSent(ILogger logger, string queueId, string list, long first, long last, int recipients);
}
