// Parses the structures a FETCH will need a little ahead of the session that writes the replies,
// on pool threads (Imap:ParseAheadThreads): a folder's first FETCH of ENVELOPE/BODYSTRUCTURE is bound
// by the parse of each message, and the writer then takes finished structures in order.
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Structure;

namespace Mailward.Protocols.Imap.Fetch;

/// <summary>
/// Messages are started in the FETCH's order, at most <c>window</c> ahead of the writer. The writer
/// never waits for a message no thread has started: it claims that one and parses it itself. Only for
/// a FETCH that changes nothing in the mailbox meanwhile (no \Seen set), so the mailbox is only read.
/// </summary>
public sealed class StructureReadAhead : IDisposable
{
    private readonly IMailbox _box;
    private readonly uint[] _uids;
    private readonly Dictionary<uint, int> _index;
    private readonly TaskCompletionSource<MessageStructure?>[] _results;
    private readonly int[] _claimed; // 0 free, 1 taken by a thread or by the writer
    private readonly int _window;
    private readonly SemaphoreSlim _progress = new(0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task[] _workers;
    private int _next;
    private int _taken; // how far the writer has come (index of the next message it will ask for)

    public StructureReadAhead(IMailbox box, IReadOnlyList<uint> uids, int threads, int window)
    {
        _box = box;
        _uids = [.. uids];
        _index = new Dictionary<uint, int>(_uids.Length);
        for (var i = 0; i < _uids.Length; i++)
            _index.TryAdd(_uids[i], i);
        _results = new TaskCompletionSource<MessageStructure?>[_uids.Length];
        for (var i = 0; i < _results.Length; i++)
            _results[i] = new TaskCompletionSource<MessageStructure?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _claimed = new int[_uids.Length];
        _window = Math.Max(1, window);
        _workers = [.. Enumerable.Range(0, Math.Max(1, threads)).Select(_ => Task.Run(WorkAsync))];
    }

    /// <summary>The structure of a message of the FETCH (parsed ahead, or now); any other UID goes straight to the mailbox.</summary>
    public Task<MessageStructure?> StructureAsync(uint uid, CancellationToken ct)
    {
        if (!_index.TryGetValue(uid, out var i))
            return _box.StructureAsync(uid, ct);
        if (i + 1 > Volatile.Read(ref _taken))
        {
            Volatile.Write(ref _taken, i + 1);
            if (_progress.CurrentCount == 0)
                _progress.Release(); // a thread waiting for the window to move may start one more
        }
        if (Interlocked.CompareExchange(ref _claimed[i], 1, 0) == 0)
            Complete(i, ct); // no thread got to it: parsed here
        return _results[i].Task.WaitAsync(ct);
    }

    private async Task WorkAsync()
    {
        var stop = _stop.Token;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var i = Interlocked.Increment(ref _next) - 1;
                if (i >= _uids.Length)
                    return;
                while (i >= Volatile.Read(ref _taken) + _window)
                    await _progress.WaitAsync(TimeSpan.FromMilliseconds(50), stop); // bounded wait: a missed release costs 50 ms, never a hang
                if (Interlocked.CompareExchange(ref _claimed[i], 1, 0) == 0)
                    Complete(i, stop);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Complete(int i, CancellationToken ct)
    {
        try
        {
            // The Maildir store answers synchronously; awaiting here would only add a hop.
            _results[i].TrySetResult(_box.StructureAsync(_uids[i], ct).GetAwaiter().GetResult());
        }
        catch (Exception e)
        {
            _results[i].TrySetException(e); // the writer meets it where it would have met it parsing itself
        }
    }

    /// <summary>Stops the threads and waits for them, so nothing reads the mailbox after the FETCH.</summary>
    public void Dispose()
    {
        _stop.Cancel();
        try
        {
            Task.WaitAll(_workers);
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
        _progress.Dispose();
    }
}
