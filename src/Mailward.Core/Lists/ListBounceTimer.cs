// The bounce timer (docs/lists.md, "Bounces"): every Lists:BounceCheckMinutes the lists with bounce
// records are looked at as after a post, so a quiet list still warns a bouncing subscriber after
// Lists:BounceDays and probes that many days later (ezmlm ran ezmlm-warn from cron for that). One node
// of a cluster looks at a time (ClusterJobs, job "list-bounces"); the clock is the server's, driven in tests.
using Mailward.Core.Accounts;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Lists;

public sealed partial class ListBounceTimer(ListAgent agent, IAccountStore store, ListOptions options, TimeProvider? time = null, ILogger? logger = null)
{
    public const string Job = "list-bounces";

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private readonly ClusterJobs _jobs = ClusterJobs.For(store);

    /// <summary>Looks every Lists:BounceCheckMinutes until <paramref name="ct"/> ends; 0 minutes: never (the next post or bounce looks).</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        if (options.BounceCheckMinutes == 0)
            return;
        await ListTimerLoop.RunAsync(options.BounceCheck, _time, LookOnceAsync, e => LookFailed(_log, e), ct);
    }

    /// <summary>One look, unless another node (or this one) is looking now; true when it ran here.</summary>
    public Task<bool> LookOnceAsync(CancellationToken ct) =>
        _jobs.TryRunAsync(Job, () => agent.LookAtAllBouncesAsync(store.ListDomains(), ct));

    [LoggerMessage(EventId = 3225, Level = LogLevel.Warning, Message = "list bounce timer failed: {Error} (looks again at the next interval)")]
    private static partial void LookFailed(ILogger logger, string error);
}
