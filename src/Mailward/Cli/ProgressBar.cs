// A one-line progress bar for long commands on a terminal (mailward bulletin): items done of the
// total, percent, rate and the time left, redrawn in place with a carriage return at most ten
// times a second. Only drawn when standard output is a terminal; scripts get a summary instead.
using System.Globalization;

namespace Mailward.Cli;

public sealed class ProgressBar(TextWriter output, string unit, TimeProvider? time = null)
{
    private const int Width = 30;
    private static readonly TimeSpan RedrawEvery = TimeSpan.FromMilliseconds(100);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _started = -1;
    private long _lastDrawn = -1;

    /// <summary>Redraws the bar for <paramref name="done"/> of <paramref name="total"/>; the last call (done = total) always draws.</summary>
    public void Report(int done, int total)
    {
        var now = _time.GetTimestamp();
        if (_started < 0)
            _started = now;
        if (done < total && _lastDrawn >= 0 && _time.GetElapsedTime(_lastDrawn, now) < RedrawEvery)
            return;
        _lastDrawn = now;
        output.Write("\r" + Render(done, total, _time.GetElapsedTime(_started, now)));
        if (done >= total)
            output.WriteLine();
        output.Flush();
    }

    /// <summary>"[#####.....] 512/1000  51%  850 users/s  ETA 0:01" for the time elapsed so far.</summary>
    public string Render(int done, int total, TimeSpan elapsed)
    {
        var fraction = total <= 0 ? 1.0 : Math.Clamp((double)done / total, 0, 1);
        var filled = (int)Math.Round(fraction * Width);
        var rate = elapsed.TotalSeconds > 0 ? done / elapsed.TotalSeconds : 0;
        var eta = done >= total ? "done" : rate > 0 ? "ETA " + Format(TimeSpan.FromSeconds((total - done) / rate)) : "ETA --:--";
        return string.Create(CultureInfo.InvariantCulture,
            $"[{new string('#', filled)}{new string('.', Width - filled)}] {done}/{total} {fraction * 100,3:0}%  {rate:0} {unit}/s  {eta}   ");
    }

    private static string Format(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
        : string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00}");
}
