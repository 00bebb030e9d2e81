// Bounce handling as ezmlm-warn (docs/lists.md, "Bounces"): a bounce of a copy, of a warning or of
// a probe comes back to its VERP return address and is recorded in the subscriber's bounce/H; after
// every bounce and every post, and by the bounce timer (ListBounceTimer) for quiet lists, the records
// are looked at: a warning after Lists:BounceDays of bounces, a probe that many days later if the
// bounces went on, and a bounced probe unsubscribes.
using System.Globalization;
using System.Security.Cryptography;
using Mailward.Core.Delivery;
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;

namespace Mailward.Core.Lists;

public sealed partial class ListAgent
{
    private const string BounceMagic = "mailward-list-bounce 1";

    /// <summary>How many missed post numbers a record keeps (the latest).</summary>
    private const int MissedKept = 100;

    /// <summary>One bouncing subscriber (bounce/H): times in Unix seconds, 0 for "not yet".</summary>
    private sealed record BounceRecord(string Address, long First, long Last, IReadOnlyList<long> Missed, long Warned, long Since, long Probe);

    private static string BouncePath(ListFolder list, string address) =>
        Path.Combine(list.PathOf("bounce"), Convert.ToHexStringLower(SHA256.HashData(ListFolder.Utf8(address)))[..20]);

    /// <summary>A message to NAME-return-…: N-ADDR, warn-ADDR or probe-ADDR; an empty one is a bounce of an answer (dropped).</summary>
    private async Task<DeliveryResult> BounceAsync(QueuedMessage message, ListFolder list, ListConfig config, string argument, CancellationToken ct)
    {
        var dash = argument.IndexOf('-');
        var kind = dash > 0 ? argument[..dash] : argument;
        var decoded = dash > 0 ? ListAddress.VerpDecode(argument[(dash + 1)..]) : null;
        BounceNoted(_log, message.QueueId, list.Address, kind, decoded ?? "");
        long? number = long.TryParse(kind, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : null;
        if (decoded is null || !(kind is "warn" or "probe" || number is not null))
            return DeliveryResult.Delivered("a bounce of an answer: dropped");
        var address = ListFolder.Normalize(decoded);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        using (list.Lock(options.LockWait))
        {
            string detail;
            if (!list.IsMember(MemberSet.Subscribers, address))
                detail = $"bounce for <{address}>, not a subscriber: ignored";
            else if (kind == "probe")
            {
                list.Change(MemberSet.Subscribers, [address], add: false, options.MaxMembers);
                if (File.Exists(BouncePath(list, address)))
                    File.Delete(BouncePath(list, address));
                ProbeUnsubscribed(_log, message.QueueId, list.Address, address);
                detail = $"the probe to <{address}> bounced: unsubscribed";
            }
            else
            {
                var r = ReadBounce(BouncePath(list, address)) ?? new BounceRecord(address, now, now, [], 0, 0, 0);
                var missed = r.Missed;
                if (number is { } post)
                    missed = [.. missed.Append(post).Distinct().Order().TakeLast(MissedKept)];
                WriteBounce(list, r with { Last = now, Missed = missed, Since = r.Warned > 0 ? r.Since + 1 : 0 });
                detail = $"bounce of {kind} for <{address}> recorded";
            }
            await LookAtBouncesAsync(list, ct);
            return DeliveryResult.Delivered(detail);
        }
    }

    /// <summary>
    /// The bounce timer's look (ListBounceTimer): every list of <paramref name="domains"/> with bounce
    /// records, under its lock, as after a post, so a list nobody posts to still warns and probes
    /// (ezmlm's cron job running ezmlm-warn). A list that is damaged or busy is skipped (logged) until
    /// the next look. Returns (lists looked at, warnings sent, probes sent).
    /// </summary>
    public async Task<(int Lists, int Warnings, int Probes)> LookAtAllBouncesAsync(IEnumerable<Accounts.DomainRecord> domains, CancellationToken ct)
    {
        var (looked, warnings, probes) = (0, 0, 0);
        foreach (var domain in domains)
            foreach (var list in lists.Lists(domain))
            {
                ct.ThrowIfCancellationRequested();
                var dir = list.PathOf("bounce");
                if (!Directory.Exists(dir) || !Directory.EnumerateFiles(dir).Any())
                    continue; // nobody bounces: nothing to look at
                looked++;
                try
                {
                    using (list.Lock(options.LockWait))
                    {
                        var (w, p) = await LookAtBouncesAsync(list, ct);
                        warnings += w;
                        probes += p;
                    }
                }
                catch (Exception e) when (e is ListDamagedException or TimeoutException)
                {
                    Damaged(_log, "-", list.Address, e.Message);
                }
            }
        BouncesLooked(_log, looked, warnings, probes);
        return (looked, warnings, probes);
    }

    /// <summary>ezmlm-warn's pass over bounce/ (docs/lists.md, "Bounces", steps 1-3). The caller holds the list's lock. Returns (warnings, probes) sent.</summary>
    private async Task<(int Warnings, int Probes)> LookAtBouncesAsync(ListFolder list, CancellationToken ct)
    {
        var dir = list.PathOf("bounce");
        var (warnings, probes) = (0, 0);
        if (!Directory.Exists(dir))
            return (0, 0);
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var wait = (long)options.BounceWait.TotalSeconds;
        HashSet<string>? subscribers = null;
        // A list, not a live enumeration: the loop rewrites and removes files of the same folder.
        foreach (var path in Directory.GetFiles(dir))
        {
            if (Path.GetFileName(path).Contains('.', StringComparison.Ordinal))
                continue; // .tmp leftovers
            BounceRecord? r;
            try
            {
                r = ReadBounce(path);
            }
            catch (ListDamagedException e)
            {
                // Left as it is (never guessed at) and logged; the post that looked has gone out and
                // the other records are still looked at. That address's next bounce waits for repair.
                Damaged(_log, "-", list.Address, e.Message);
                continue;
            }
            if (r is null)
                continue;
            subscribers ??= new HashSet<string>(list.Members(MemberSet.Subscribers), StringComparer.Ordinal);
            if (!subscribers.Contains(r.Address))
                Forget(list, path, r.Address, "not a subscriber");
            else if (r.Warned == 0 && now - r.First >= wait)
            {
                var numbers = string.Join(" ", r.Missed.Select(ListFolder.Number));
                var text = $"""
                    Mail from the {list.Address} mailing list to {r.Address} has been bouncing since {DateTimeOffset.FromUnixTimeSeconds(r.First):u}.
                    These posts did not reach you:
                       {(numbers.Length > 0 ? numbers : "(none recorded)")}
                    You can get post N from the archive by writing to {list.Name}-get.N@{list.Domain}.

                    If mail to you goes on bouncing, the list will send a probe in {options.BounceDays} days;
                    if the probe bounces too, {r.Address} is unsubscribed.
                    """;
                await SendNoticeAsync(list, r.Address, "warn", $"warning: mail from {list.Address} to you bounced", text, ct);
                WriteBounce(list, r with { Warned = now, Since = 0 });
                BounceWarned(_log, list.Address, r.Address, numbers);
                warnings++;
            }
            else if (r.Warned > 0 && r.Probe == 0 && now - r.Warned >= wait)
            {
                if (r.Since == 0)
                {
                    Forget(list, path, r.Address, "nothing bounced since the warning");
                    continue;
                }
                var text = $"""
                    This is a probe from the {list.Address} mailing list: mail to {r.Address} went on bouncing
                    after the warning. If this probe bounces too, {r.Address} is unsubscribed.
                    """;
                await SendNoticeAsync(list, r.Address, "probe", $"probe: mail from {list.Address} to you bounces", text, ct);
                WriteBounce(list, r with { Probe = now });
                BounceProbed(_log, list.Address, r.Address);
                probes++;
            }
            else if (r.Probe > 0 && now - r.Probe >= wait)
                Forget(list, path, r.Address, "the probe did not bounce");
        }
        return (warnings, probes);
    }

    /// <summary>A warning or a probe, from NAME-help@ with the envelope sender NAME-return-KIND-ADDR@ (its bounce comes back to the list).</summary>
    private async Task SendNoticeAsync(ListFolder list, string to, string kind, string subject, string text, CancellationToken ct)
    {
        var bytes = ListReplies.Build(hostname, list, to, subject, text, _time.GetUtcNow());
        await using var tx = queue.Begin(new QueueEnvelope($"{list.Name}-return-{kind}-{ListAddress.VerpEncode(to)}@{list.Domain}", [to], "127.0.0.1", hostname, "list"));
        await tx.WriteAsync(bytes, ct);
        await tx.CommitAsync(ct);
    }

    private void Forget(ListFolder list, string path, string address, string why)
    {
        File.Delete(path);
        BounceForgotten(_log, list.Address, address, why);
    }

    private static void WriteBounce(ListFolder list, BounceRecord r)
    {
        Directory.CreateDirectory(list.PathOf("bounce"));
        ListFile.Write(BouncePath(list, r.Address), BounceMagic,
            $"address: {r.Address}\nfirst: {ListFolder.Number(r.First)}\nlast: {ListFolder.Number(r.Last)}\nmissed: {string.Join(" ", r.Missed.Select(ListFolder.Number))}\n" +
            $"warned: {ListFolder.Number(r.Warned)}\nsince: {ListFolder.Number(r.Since)}\nprobe: {ListFolder.Number(r.Probe)}\n");
    }

    /// <summary>bounce/H; null when absent.</summary>
    private static BounceRecord? ReadBounce(string path)
    {
        var lines = ListFile.ReadLines(path, BounceMagic);
        if (lines is null)
            return null;
        string[] keys = ["address", "first", "last", "missed", "warned", "since", "probe"];
        if (lines.Count != keys.Length || keys.Where((k, i) => !lines[i].StartsWith(k + ":", StringComparison.Ordinal)).Any())
            throw new ListDamagedException(path, "not address, first, last, missed, warned, since, probe");
        string Value(int i) => lines[i][(keys[i].Length + 1)..].Trim();
        long Number(int i) => long.TryParse(Value(i), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
            : throw new ListDamagedException(path, $"{keys[i]}: not a number");
        var missed = new List<long>();
        foreach (var m in Value(3).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            missed.Add(long.TryParse(m, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw new ListDamagedException(path, "missed: not numbers"));
        return new BounceRecord(Value(0), Number(1), Number(2), missed, Number(4), Number(5), Number(6));
    }

    [LoggerMessage(EventId = 3215, Level = LogLevel.Information, Message = "list bounce warning list=<{List}> subscriber=<{Subscriber}> missed={Missed}")]
    private static partial void BounceWarned(ILogger logger, string list, string subscriber, string missed);

    [LoggerMessage(EventId = 3216, Level = LogLevel.Information, Message = "list bounce probe list=<{List}> subscriber=<{Subscriber}>")]
    private static partial void BounceProbed(ILogger logger, string list, string subscriber);

    [LoggerMessage(EventId = 3217, Level = LogLevel.Information, Message = "list unsubscribed after a bounced probe id={QueueId} list=<{List}> subscriber=<{Subscriber}>")]
    private static partial void ProbeUnsubscribed(ILogger logger, string queueId, string list, string subscriber);

    [LoggerMessage(EventId = 3224, Level = LogLevel.Information, Message = "list bounce timer lists={Lists} warnings={Warnings} probes={Probes}")]
    private static partial void BouncesLooked(ILogger logger, int lists, int warnings, int probes);

    [LoggerMessage(EventId = 3218, Level = LogLevel.Information, Message = "list bounce record removed list=<{List}> subscriber=<{Subscriber}> reason={Reason}")]
    private static partial void BounceForgotten(ILogger logger, string list, string subscriber, string reason);
}
