// What an IMAP IDLE session waits on, made small for thousands of them (docs/imap.md: what an IDLE
// session costs): one reusable wake-up per session, set off by its input, by a change of its folder,
// or by one clock all idle sessions of a time source share (their polls and the autologout), instead
// of a timer, a linked cancellation source and a Task.WhenAny each.
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Mailward.Protocols.Imap;

/// <summary>
/// One session's IDLE wake-up: <see cref="WaitAsync"/> arms it, <see cref="Wake"/> (from any thread,
/// any number of times) completes the armed wait once. Level-triggered use: arm, then look at what
/// may have happened already, then wait; a wake before the arm is not kept.
/// </summary>
internal sealed class IdleWaiter : IValueTaskSource
{
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private int _armed;

    public IdleWaiter() => WakeAction = Wake;

    /// <summary><see cref="Wake"/> as one delegate, made once: for the input's completion and the folder's change signal.</summary>
    public Action WakeAction { get; }

    /// <summary>When the clock is to wake this wait (a timestamp of the clock's time source).</summary>
    public long DueAt { get; set; }

    // The clock's list of waiting sessions: two links here, no node object per session.
    internal IdleWaiter? Previous;
    internal IdleWaiter? Next;
    internal bool Listed;

    public ValueTask WaitAsync()
    {
        _core.Reset();
        Volatile.Write(ref _armed, 1);
        return new ValueTask(this, _core.Version);
    }

    public void Wake()
    {
        if (Interlocked.Exchange(ref _armed, 0) == 1)
            _core.SetResult(true);
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// One timer for every idle session of a time source: each tick wakes the waits whose time has come.
/// A tick walks the list (10,000 sessions: microseconds); the timer runs only while someone waits.
/// </summary>
internal sealed class IdleClock
{
    /// <summary>How often the clock looks: an IDLE poll or an autologout comes at most this much late.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    private static readonly ConditionalWeakTable<TimeProvider, IdleClock> Clocks = [];

    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private IdleWaiter? _first;
    private int _count;
    private ITimer? _timer;

    private IdleClock(TimeProvider time) => _time = time;

    /// <summary>The clock of a time source (a test's fake one gets its own).</summary>
    public static IdleClock For(TimeProvider time) => Clocks.GetValue(time, t => new IdleClock(t));

    /// <summary>Waiters listed now, for tests.</summary>
    internal int Count
    {
        get
        {
            lock (_lock)
                return _count;
        }
    }

    public void Add(IdleWaiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Listed)
                return;
            waiter.Listed = true;
            waiter.Previous = null;
            waiter.Next = _first;
            _first?.Previous = waiter;
            _first = waiter;
            if (_count++ == 0)
            {
                if (_timer is null)
                    _timer = _time.CreateTimer(static s => ((IdleClock)s!).OnTick(), this, Tick, Tick);
                else
                    _timer.Change(Tick, Tick);
            }
        }
    }

    public void Remove(IdleWaiter waiter)
    {
        lock (_lock)
        {
            if (!waiter.Listed)
                return;
            waiter.Listed = false;
            if (waiter.Previous is { } previous)
                previous.Next = waiter.Next;
            else
                _first = waiter.Next;
            waiter.Next?.Previous = waiter.Previous;
            waiter.Previous = waiter.Next = null;
            if (--_count == 0)
                _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan); // an idle server wakes for nothing
        }
    }

    private void OnTick()
    {
        var now = _time.GetTimestamp();
        List<IdleWaiter>? due = null;
        lock (_lock)
        {
            for (var w = _first; w is not null; w = w.Next)
                if (w.DueAt <= now)
                    (due ??= []).Add(w);
        }
        // Woken outside the lock: each wake queues the session's continuation, nothing more.
        if (due is not null)
            foreach (var w in due)
                w.Wake();
    }
}
