// IDLE (RFC 2177, RFC 9051 §6.3.13): the session waits on two things at once, the client's DONE
// and a change of the selected folder (MailboxEvents, or a poll for other nodes' changes), with no
// thread held and no buffer: an idle session is its objects and one pending zero-byte read.
namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    private async Task<bool> IdleAsync(string tag, CancellationToken ct)
    {
        _channel.Reply("+ idling");
        await AnnounceChangesAsync(allowExpunge: true, ct);
        await _channel.FlushAsync(ct);
        _channel.ReleaseOutput(); // an idle session holds no reply buffer either
        var started = _time.GetTimestamp();
        // Only this loop touches the input; the replies are written between reads, never during one.
        var read = _channel.ReadMoreAsync(options.AutologoutTimeout, ct, idle: true).AsTask();
        while (true)
        {
            var changed = _selected?.Changed ?? Task.Delay(Timeout.Infinite, ct);
            var poll = Task.Delay(options.IdlePoll, _time, ct);
            var done = await Task.WhenAny(read, changed, poll);
            if (done == read)
            {
                if (await read == 0)
                {
                    _closeReason = "client disconnected";
                    return false;
                }
                var buffered = _channel.Buffered;
                var lf = buffered.IndexOf((byte)'\n');
                if (lf < 0)
                {
                    if (buffered.Length > 64)
                        return Bad(tag, "expected DONE");
                    var left = options.AutologoutTimeout - _time.GetElapsedTime(started);
                    if (left <= TimeSpan.Zero)
                        throw new TimeoutException("idle too long");
                    read = _channel.ReadMoreAsync(left, ct, idle: true).AsTask();
                    continue;
                }
                var line = System.Text.Encoding.ASCII.GetString(buffered[..lf]).TrimEnd('\r');
                _channel.Consume(lf + 1);
                if (!line.Equals("DONE", StringComparison.OrdinalIgnoreCase))
                    return Bad(tag, "expected DONE");
                return Ok(tag, "IDLE terminated");
            }
            await AnnounceChangesAsync(allowExpunge: true, ct);
            await _channel.FlushAsync(ct);
            _channel.ReleaseOutput();
        }
    }
}
