// IDLE (RFC 2177, RFC 9051 §6.3.13): the session waits on its client's DONE and on a change of the
// selected folder (MailboxEvents, or the poll for other nodes' and programs' changes) with no thread,
// no buffer and no timer of its own: one IdleWaiter, woken by a zero-byte read, by the folder's
// change flag or by the clock all idle sessions share (IdleWait.cs).
namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    // The pending read is kept in a local and awaited once, after it completed (the waiter's wake-up
    // says so): what CA2012 guards against does not happen here.
#pragma warning disable CA2012
    private async Task<bool> IdleAsync(string tag, CancellationToken ct)
    {
        _channel.Reply("+ idling");
        await AnnounceChangesAsync(allowExpunge: true, ct);
        await _channel.FlushAsync(ct);
        _channel.ReleaseOutput(); // an idle session holds no reply buffer either
        var clock = IdleClock.For(_time);
        var started = _time.GetTimestamp();
        var logoutAt = started + (long)(options.AutologoutTimeout.TotalSeconds * _time.TimestampFrequency);
        long Next() => Math.Min(logoutAt, _time.GetTimestamp() + (long)(options.IdlePoll.TotalSeconds * _time.TimestampFrequency));
        var waiter = new IdleWaiter { DueAt = Next() };
        var selected = _selected;
        // Only this loop touches the input: first a read of no octets (no buffer held), once something
        // came reads of the octets. Replies to changes go out while such a read is pending.
        var input = _channel.WaitForInputAsync(ct);
        var waitingForInput = true;
        if (!input.IsCompleted)
            input.GetAwaiter().UnsafeOnCompleted(waiter.WakeAction);
        selected?.SetWaker(waiter.WakeAction);
        clock.Add(waiter);
        try
        {
            while (true)
            {
                // Armed before looking: whatever happens from here on wakes the wait, and what happened before is seen here.
                var wait = waiter.WaitAsync();
                if (input.IsCompleted || selected?.HasChanged == true || _time.GetTimestamp() >= waiter.DueAt)
                    waiter.Wake();
                await wait;
                if (input.IsCompleted)
                {
                    var n = await input; // throws when the connection or the server ends the wait
                    if (waitingForInput && _channel.Buffered.Length == 0)
                        n = await _channel.ReadMoreAsync(LeftOf(logoutAt), ct); // the octets are there now (or the end)
                    if (n == 0)
                    {
                        _closeReason = "client disconnected";
                        return false;
                    }
                    var buffered = _channel.Buffered;
                    var lf = buffered.IndexOf((byte)'\n');
                    if (lf >= 0)
                    {
                        var line = System.Text.Encoding.ASCII.GetString(buffered[..lf]).TrimEnd('\r');
                        _channel.Consume(lf + 1);
                        return line.Equals("DONE", StringComparison.OrdinalIgnoreCase) ? Ok(tag, "IDLE terminated") : Bad(tag, "expected DONE");
                    }
                    if (buffered.Length > 64)
                        return Bad(tag, "expected DONE");
                    // Part of a line: the rest is read into the buffer it started (until the autologout at most).
                    input = _channel.ReadMoreAsync(LeftOf(logoutAt), ct);
                    waitingForInput = false;
                    if (!input.IsCompleted)
                        input.GetAwaiter().UnsafeOnCompleted(waiter.WakeAction);
                    continue;
                }
                if (_time.GetTimestamp() >= logoutAt)
                    throw new TimeoutException("idle too long");
                waiter.DueAt = Next();
                await AnnounceChangesAsync(allowExpunge: true, ct);
                await _channel.FlushAsync(ct);
                _channel.ReleaseOutput();
            }
        }
        finally
        {
            clock.Remove(waiter);
            selected?.SetWaker(null);
        }
    }

#pragma warning restore CA2012

    private TimeSpan LeftOf(long timestamp)
    {
        var left = _time.GetElapsedTime(_time.GetTimestamp(), timestamp);
        return left > TimeSpan.Zero ? left : TimeSpan.FromMilliseconds(1);
    }
}
