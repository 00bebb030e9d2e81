// `Mailward.Bench store --allocations`: the runtime's allocation ticks (one per ~100 KB) by type,
// for what the timed phases allocate.
using System.Diagnostics.Tracing;

namespace Mailward.Bench;

internal sealed class AllocationTicks : EventListener
{
    private readonly Dictionary<string, long> _bytes = [];
    public bool On { get; set; }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!On || e.EventName is null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || e.Payload is null)
            return;
        var type = e.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
        var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        lock (_bytes)
            _bytes[type] = _bytes.GetValueOrDefault(type) + amount;
    }

    public void Print()
    {
        lock (_bytes)
        {
            foreach (var (type, bytes) in _bytes.OrderByDescending(p => p.Value).Take(25))
                Console.WriteLine($"  {bytes / 1e6,8:F1} MB  {type}");
            _bytes.Clear();
        }
    }
}
