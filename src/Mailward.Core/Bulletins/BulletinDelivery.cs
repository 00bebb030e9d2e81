// Runs a bulletin to its audience through its journal (docs/bulletin-format.md): first rolls an
// earlier run forward (D lines whose copy is still in tmp/ are published), then per batch of users
// stages each copy (tmp/, fsync), commits the batch's D lines with one fsync, and publishes them
// (rename into new/). Users are worked on in parallel within a batch: the cost is fsyncs, and a
// disk serves several at once.
using Mailward.Core.Accounts;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;

namespace Mailward.Core.Bulletins;

public sealed record BulletinOptions(string Hostname, string NodeId, bool RespectQuota)
{
    /// <summary>Users whose D lines share one fsync of the journal (Bulletin:BatchSize).</summary>
    public int BatchSize { get; init; } = 64;

    /// <summary>Copies staged or published at once (Bulletin:Concurrency).</summary>
    public int Parallelism { get; init; } = 4;
}

/// <param name="Delivered">Copies published by this run (rolled forward ones included).</param>
/// <param name="HadIt">Users an earlier run of this bulletin already served.</param>
/// <param name="RefusesMail">Users with the bounce-mail flag, skipped.</param>
/// <param name="OverQuota">Users whose copy would pass a quota (--respect-quota), skipped.</param>
/// <param name="Failed">Users whose copy could not be written, with the error.</param>
public sealed record BulletinSummary(int Delivered, int HadIt, int Excluded, IReadOnlyList<string> RefusesMail,
    IReadOnlyList<string> OverQuota, IReadOnlyList<(string Address, string Error)> Failed, TimeSpan Elapsed, bool Finished);

public static class BulletinDelivery
{
    /// <summary>
    /// Delivers <paramref name="message"/> to <paramref name="audience"/> under <paramref name="journal"/>.
    /// <paramref name="maildirOf"/> finds the Maildir of an address that an earlier run committed but
    /// that this run's audience does not name (null: no longer a user). <paramref name="progress"/>
    /// is told (done, total) after each batch.
    /// </summary>
    public static BulletinSummary Run(BulletinMessage message, BulletinJournal journal, BulletinAudience audience, BulletinOptions options,
        Func<string, string?> maildirOf, Action<int, int>? progress = null, TimeProvider? time = null, CancellationToken ct = default)
    {
        var clock = time ?? TimeProvider.System;
        var started = clock.GetTimestamp();
        var byAddress = audience.Recipients.ToDictionary(r => r.Address, StringComparer.Ordinal);
        var failed = new List<(string, string)>();
        var delivered = 0;

        // 1. Roll forward: copies committed by an earlier run and perhaps not yet published.
        var hadIt = 0;
        foreach (var d in journal.Delivered.Values)
        {
            var inAudience = byAddress.ContainsKey(d.Address);
            if (inAudience)
                hadIt++;
            var maildir = inAudience ? byAddress[d.Address].Maildir : maildirOf(d.Address);
            if (maildir is null)
                continue;
            try
            {
                if (MaildirWriter.PublishStaged(maildir, d.TmpName, d.FinalName, BaseOf(journal, d.Address, options), checkExisting: true) == PublishOutcome.Published)
                {
                    MaildirQuota.Add(maildir, MaildirWriter.SizeOf(Path.Combine(maildir, "new", d.FinalName)), 1);
                    delivered++;
                    if (inAudience)
                        hadIt--;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                failed.Add((d.Address, e.Message));
            }
        }

        // 2. Everyone else, batch by batch.
        var refuses = audience.Recipients.Where(r => r.RefusesMail && !journal.Delivered.ContainsKey(r.Address)).Select(r => r.Address).ToList();
        var pending = audience.Recipients.Where(r => !r.RefusesMail && !journal.Delivered.ContainsKey(r.Address)).ToList();
        var overQuota = new List<string>();
        var domainUsage = audience.DomainQuotas.ToDictionary(kv => kv.Key, kv => kv.Value.Usage, StringComparer.Ordinal);
        var total = pending.Count;
        var done = 0;
        progress?.Invoke(0, total);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, options.Parallelism), CancellationToken = ct };
        for (var start = 0; start < pending.Count; start += options.BatchSize)
        {
            var batch = pending.GetRange(start, Math.Min(options.BatchSize, pending.Count - start));
            var staged = new StagedCopy?[batch.Count];
            var errors = new string?[batch.Count];
            var skipped = new bool[batch.Count];
            var header = new byte[batch.Count][];
            for (var i = 0; i < batch.Count; i++)
            {
                header[i] = message.HeaderFor(batch[i].Address, journal.Created, options.Hostname);
                if (options.RespectQuota && OverQuota(batch[i], header[i].Length + message.Body.Length, audience, domainUsage))
                    skipped[i] = true;
            }
            Parallel.For(0, batch.Count, parallel, i =>
            {
                if (skipped[i])
                    return;
                try
                {
                    staged[i] = MaildirWriter.Stage(batch[i].Maildir, BaseOf(journal, batch[i].Address, options), options.Hostname, header[i], message.Body);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    errors[i] = e.Message;
                }
            });
            var commit = new List<BulletinDelivered>();
            for (var i = 0; i < batch.Count; i++)
                if (staged[i] is { } s)
                    commit.Add(new BulletinDelivered(batch[i].Address, s.TmpName, s.FinalName));
            journal.Commit(commit);
            Parallel.For(0, batch.Count, parallel, i =>
            {
                if (staged[i] is not { } s)
                    return;
                try
                {
                    MaildirWriter.PublishStaged(s.Maildir, s.TmpName, s.FinalName, "", checkExisting: false);
                    MaildirQuota.Add(s.Maildir, s.Size, 1);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Committed: the next run publishes it (or finds it published).
                    errors[i] = e.Message;
                }
            });
            for (var i = 0; i < batch.Count; i++)
            {
                if (skipped[i])
                    overQuota.Add(batch[i].Address);
                else if (errors[i] is { } error)
                    failed.Add((batch[i].Address, error));
                else
                    delivered++;
            }
            done += batch.Count;
            progress?.Invoke(done, total);
        }

        var finished = failed.Count == 0 && overQuota.Count == 0;
        if (finished && (journal.FinishedAt is null || delivered > 0))
            journal.Finish(clock.GetUtcNow(), journal.Delivered.Count);
        return new BulletinSummary(delivered, hadIt, audience.Excluded, refuses, overQuota, failed, clock.GetElapsedTime(started), finished);
    }

    private static string BaseOf(BulletinJournal journal, string address, BulletinOptions options) =>
        MaildirName.BulletinBase(journal.Created, journal.Digest16, address, options.NodeId);

    /// <summary>Would a copy of <paramref name="size"/> bytes pass the user's or the domain's quota? Counts it against the domain when not.</summary>
    private static bool OverQuota(BulletinRecipient r, long size, BulletinAudience audience, Dictionary<string, Quota> domainUsage)
    {
        if (!r.Quota.IsUnlimited && MaildirQuota.WouldExceed(r.Quota, r.Usage, size))
            return true;
        if (audience.DomainQuotas.TryGetValue(r.Domain, out var d) && !d.Limit.IsUnlimited)
        {
            var usage = domainUsage[r.Domain];
            if (MaildirQuota.WouldExceed(d.Limit, usage, size))
                return true;
            domainUsage[r.Domain] = new Quota(usage.Bytes + size, usage.Messages + 1);
        }
        return false;
    }
}
