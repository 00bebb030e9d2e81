// qmail-send's retry schedule: attempt n of a message happens (c·n)² seconds after it arrived,
// c = 10 for local and 20 for remote deliveries. It depends only on the arrival time and now, so
// nothing about attempts needs to be stored: a restart resumes the same schedule.
namespace Mailward.Core.Delivery;

public static class RetrySchedule
{
    public const int LocalFactor = 10;
    public const int RemoteFactor = 20;

    /// <summary>The first point of the schedule strictly after <paramref name="now"/>.</summary>
    public static DateTimeOffset NextAttempt(DateTimeOffset arrived, DateTimeOffset now, int factor)
    {
        var age = Math.Max(0, (now - arrived).TotalSeconds);
        var n = Math.Floor(Math.Sqrt(age) / factor) + 1;
        var next = arrived.AddSeconds(Math.Pow(factor * n, 2));
        return next > now ? next : arrived.AddSeconds(Math.Pow(factor * (n + 1), 2));
    }
}
