// The loop under the lists' per-cluster timers (ListDigestTimer, ListBounceTimer): a look every
// interval on the server's clock (driven in tests) until the server stops; a failed look is logged
// by the caller and the next interval tries again.
using Mailward.Core.Accounts;

namespace Mailward.Core.Lists;

internal static class ListTimerLoop
{
    /// <summary>Calls <paramref name="look"/> every <paramref name="every"/> until <paramref name="ct"/> ends; a store or file failure goes to <paramref name="failed"/>.</summary>
    public static async Task RunAsync(TimeSpan every, TimeProvider time, Func<CancellationToken, Task> look, Action<string> failed, CancellationToken ct)
    {
        // A periodic timer made now: its ticks come at fixed times whether or not a look is running
        // (ticks missed during a long look are one tick), so a look never pushes the next one back.
        using var timer = new PeriodicTimer(every, time);
        while (!ct.IsCancellationRequested)
        {
            try
            {
                if (!await timer.WaitForNextTickAsync(ct))
                    return;
                await look(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is AccountStoreUnavailableException or IOException or UnauthorizedAccessException)
            {
                // The store or the mail store failed this time: the next look tries again; nothing is lost, only later.
                failed(e.Message);
            }
        }
    }
}
