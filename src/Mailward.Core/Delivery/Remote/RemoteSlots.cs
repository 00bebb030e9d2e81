// The outgoing connection slots. Ordinary mail shares Delivery:RemoteConcurrency; bounces (null
// sender) have their own small pool, Delivery:BounceConcurrency, so a wave of backscatter to dead or
// tarpitting hosts cannot hold the slots of real mail; and no destination (next-hop domain, or the
// route/smarthost) holds more than Delivery:DestinationConcurrency of them (Postfix's
// default_destination_concurrency_limit), so one slow destination cannot stop the others. The
// smarthost is exempt: it is every message's destination, so a limit would only cut throughput.
namespace Mailward.Core.Delivery.Remote;

public sealed class RemoteSlots(int ordinary, int bounces, int perDestination) : IDisposable
{
    private readonly SemaphoreSlim _ordinary = new(ordinary);
    private readonly SemaphoreSlim _bounces = new(bounces);
    private readonly Dictionary<string, DestinationSlots> _destinations = new(StringComparer.OrdinalIgnoreCase);

    private sealed class DestinationSlots(int slots)
    {
        public SemaphoreSlim Slots { get; } = new(slots);
        public int Users { get; set; }
    }

    /// <summary>Waits for a slot of the destination (unless <paramref name="limited"/> is false), then one of the pool; dispose the lease to give both back.</summary>
    public async Task<IDisposable> EnterAsync(string destination, bool bounce, bool limited, CancellationToken ct)
    {
        if (!limited)
            destination = ""; // one shared entry with a slot per pool slot: no further limit
        DestinationSlots d;
        lock (_destinations)
        {
            if (!_destinations.TryGetValue(destination, out d!))
                _destinations[destination] = d = new DestinationSlots(limited ? perDestination : ordinary + bounces);
            d.Users++;
        }
        // The destination first: waiting for it must not hold a pool slot that other destinations could use.
        var pool = bounce ? _bounces : _ordinary;
        var haveDestination = false;
        try
        {
            await d.Slots.WaitAsync(ct);
            haveDestination = true;
            await pool.WaitAsync(ct);
            return new Lease(this, destination, d, pool);
        }
        catch
        {
            if (haveDestination)
                d.Slots.Release();
            Leave(destination, d);
            throw;
        }
    }

    private void Leave(string key, DestinationSlots d)
    {
        lock (_destinations)
        {
            if (--d.Users > 0)
                return;
            _destinations.Remove(key);
        }
        d.Slots.Dispose();
    }

    private sealed class Lease(RemoteSlots owner, string key, DestinationSlots d, SemaphoreSlim pool) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            pool.Release();
            d.Slots.Release();
            owner.Leave(key, d);
        }
    }

    public void Dispose()
    {
        _ordinary.Dispose();
        _bounces.Dispose();
    }
}
