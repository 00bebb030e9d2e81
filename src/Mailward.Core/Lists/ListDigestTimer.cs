// The digest timer (docs/lists.md, "Digests"): every Lists:DigestCheckMinutes the lists with digest
// subscribers are looked at as after a post, so a quiet list's digest goes out once its oldest post
// is Lists:DigestHours old (ezmlm needed a cron job running ezmlm-tstdig for that). One node of a
// cluster looks at a time (ClusterJobs, job "list-digests"); the clock is the server's, driven in tests.
using Mailward.Core.Accounts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Lists;

public sealed partial class ListDigestTimer(ListAgent agent, IAccountStore store, ListOptions options, TimeProvider? time = null, ILogger? logger = null)
{
    public const string Job = "list-digests";

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private readonly ClusterJobs _jobs = ClusterJobs.For(store);

    /// <summary>Looks every Lists:DigestCheckMinutes until <paramref name="ct"/> ends; 0 minutes: never (the next post looks).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        if (options.DigestCheckMinutes == 0)
            return;
        // A periodic timer made now: its ticks come at fixed times whether or not a look is running
        // (ticks missed during a long look are one tick), so a look never pushes the next one back.
        using var timer = new PeriodicTimer(options.DigestCheck, _time);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!await timer.WaitForNextTickAsync(ct))
                    return;
                await LookOnceAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is AccountStoreUnavailableException or IOException or UnauthorizedAccessException)
            {
                // The store or the mail store failed this time: the next look tries again; no digest is lost, only later.
                LookFailed(_log, e.Message);
            }
        }
    }

    /// <summary>One look, unless another node (or this one) is looking now; true when it ran here.</summary>
    public Task<bool> LookOnceAsync(CancellationToken ct) =>
        _jobs.TryRunAsync(Job, () => agent.LookAtDigestsAsync(store.ListDomains(), ct));

    [LoggerMessage(EventId = 3223, Level = LogLevel.Warning, Message = "list digest timer failed: {Error} (looks again at the next interval)")]
    private static partial void LookFailed(ILogger logger, string error);
}
