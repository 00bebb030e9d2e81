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
        await ListTimerLoop.RunAsync(options.DigestCheck, _time, LookOnceAsync, e => LookFailed(_log, e), ct);
    }

    /// <summary>One look, unless another node (or this one) is looking now; true when it ran here.</summary>
    public Task<bool> LookOnceAsync(CancellationToken ct) =>
        _jobs.TryRunAsync(Job, () => agent.LookAtDigestsAsync(store.ListDomains(), ct));

    [LoggerMessage(EventId = 3223, Level = LogLevel.Warning, Message = "list digest timer failed: {Error} (looks again at the next interval)")]
    private static partial void LookFailed(ILogger logger, string error);
}
