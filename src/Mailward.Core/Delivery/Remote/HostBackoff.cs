// Remembers hosts that could not be reached and skips them for a while (qmail-tcpto), so one dead
// MX does not cost a connect timeout for every message. Hosts that accept the connection but stay
// mute (no greeting, or too slow before any transaction: a tarpit) are recorded the same way. The
// pause doubles with each failure, from a minute up to Remote:MaxHostBackoffSeconds; one success
// forgets the host.
using System.Collections.Concurrent;
using System.Net;

namespace Mailward.Core.Delivery.Remote;

public sealed record UnreachableHost(string Endpoint, int Failures, DateTimeOffset LastFailure, DateTimeOffset SkipUntil, string LastError);

public sealed class HostBackoff(TimeProvider time, TimeSpan maxPause)
{
    private static readonly TimeSpan FirstPause = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, UnreachableHost> _hosts = new(StringComparer.Ordinal);

    public bool IsSkipped(IPEndPoint endpoint) =>
        _hosts.TryGetValue(endpoint.ToString(), out var h) && h.SkipUntil > time.GetUtcNow();

    public void Failed(IPEndPoint endpoint, string error)
    {
        var now = time.GetUtcNow();
        _hosts.AddOrUpdate(endpoint.ToString(),
            key => new UnreachableHost(key, 1, now, now + Pause(1), error),
            (key, h) => new UnreachableHost(key, h.Failures + 1, now, now + Pause(h.Failures + 1), error));
    }

    public void Succeeded(IPEndPoint endpoint) => _hosts.TryRemove(endpoint.ToString(), out _);

    /// <summary>What `mailward queue hosts` shows: every host with a recent failure.</summary>
    public IReadOnlyList<UnreachableHost> Snapshot() =>
        _hosts.Values.OrderByDescending(h => h.SkipUntil).ToList();

    private TimeSpan Pause(int failures)
    {
        var pause = FirstPause * Math.Pow(2, Math.Min(failures - 1, 20));
        return pause < maxPause ? pause : maxPause;
    }
}
