// A minimum data rate for a client's bulk upload (SMTP DATA now, IMAP APPEND next), Kestrel's
// MinRequestBodyDataRate idea: the command timeout bounds each read, so a client dripping a byte
// just inside it could hold a connection slot for ever. Here, after a grace period, the bytes
// received must keep up with the rate. Only the time spent waiting for the client counts, so a
// slow disk on our side never cuts a client off.
using System.Diagnostics;

namespace Mailward.Protocols.Common;

/// <summary>The client sent more slowly than the minimum data rate allows.</summary>
public sealed class DataRateTooLowException() : Exception("data arrives below the minimum rate");

public sealed class MinDataRate(int bytesPerSecond, TimeSpan grace)
{
    private long _bytes;
    private TimeSpan _waited;

    /// <summary>
    /// Reads more input into <paramref name="channel"/> (0 at end of input). Throws
    /// <see cref="DataRateTooLowException"/> when the bytes so far, at <c>bytesPerSecond</c> after the
    /// grace period, do not cover the time waited; the command timeout still bounds every read.
    /// </summary>
    public async ValueTask<int> ReadMoreAsync(LineChannel channel, TimeSpan commandTimeout, CancellationToken ct)
    {
        if (bytesPerSecond <= 0)
            return await channel.ReadMoreAsync(commandTimeout, ct);
        // By when the next bytes must arrive: grace + bytes/rate of waiting in all.
        var allowed = grace + TimeSpan.FromSeconds((double)_bytes / bytesPerSecond) - _waited;
        if (allowed <= TimeSpan.Zero)
            throw new DataRateTooLowException();
        var rateBound = allowed < commandTimeout;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var n = await channel.ReadMoreAsync(rateBound ? allowed : commandTimeout, ct);
            _bytes += n;
            return n;
        }
        catch (ChannelTimeoutException) when (rateBound)
        {
            throw new DataRateTooLowException();
        }
        finally
        {
            _waited += Stopwatch.GetElapsedTime(started);
        }
    }
}
