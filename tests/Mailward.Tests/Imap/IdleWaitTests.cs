// IDLE's small wait (IdleWait.cs): the wake-up completes an armed wait once and keeps no wake from
// before the arm; the clock all idle sessions share wakes a wait when its time comes and stops when
// nobody waits; and a session in IDLE polls its folder and logs out on that clock (a fake time source).
using System.Net;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Protocols.Imap;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Mailward.Tests.Imap;

public class IdleWaitTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_wake_completes_the_armed_wait_once_and_a_wake_before_the_arm_is_not_kept()
    {
        var waiter = new IdleWaiter();
        waiter.Wake(); // nobody waits yet: not kept
        var wait = waiter.WaitAsync();
        Assert.False(wait.IsCompleted);
        waiter.Wake();
        waiter.Wake(); // a second wake of the same wait changes nothing
        await wait.AsTask().WaitAsync(Patience);
        var again = waiter.WaitAsync();
        Assert.False(again.IsCompleted);
        waiter.WakeAction();
        await again.AsTask().WaitAsync(Patience);
    }

    [Fact]
    public async Task The_shared_clock_wakes_a_wait_when_its_time_comes_and_stops_when_nobody_waits()
    {
        var time = new FakeTimeProvider();
        var clock = IdleClock.For(time);
        Assert.Same(clock, IdleClock.For(time));
        var early = new IdleWaiter { DueAt = time.GetTimestamp() + 5 * time.TimestampFrequency };
        var late = new IdleWaiter { DueAt = time.GetTimestamp() + 60 * time.TimestampFrequency };
        clock.Add(early);
        clock.Add(late);
        clock.Add(late); // listed once
        Assert.Equal(2, clock.Count);
        var first = early.WaitAsync();
        var second = late.WaitAsync();
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.False(first.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(3));
        await first.AsTask().WaitAsync(Patience);
        Assert.False(second.IsCompleted);
        clock.Remove(early);
        clock.Remove(late);
        clock.Remove(late);
        Assert.Equal(0, clock.Count);
        time.Advance(TimeSpan.FromMinutes(2)); // unlisted: the clock wakes it no more
        Assert.False(second.IsCompleted);
    }

    [Fact]
    public void The_shared_clock_runs_its_timer_only_while_someone_waits()
    {
        var time = new WatchedTime();
        var clock = IdleClock.For(time);
        Assert.Null(time.Timer); // nobody has waited: no timer at all
        var waiter = new IdleWaiter { DueAt = long.MaxValue };
        clock.Add(waiter);
        Assert.Equal(IdleClock.Tick, time.Timer!.Due);
        clock.Remove(waiter);
        Assert.Equal(Timeout.InfiniteTimeSpan, time.Timer.Due); // an idle server wakes for nothing
        clock.Add(waiter);
        Assert.Equal(IdleClock.Tick, time.Timer.Due); // the same timer, started again
        Assert.Equal(1, time.Created);
        clock.Remove(waiter);
    }

    /// <summary>A fake time source that shows the one timer the clock made and what it was last set to.</summary>
    private sealed class WatchedTime : FakeTimeProvider
    {
        public WatchedTimer? Timer { get; private set; }
        public int Created { get; private set; }

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            Created++;
            return Timer = new WatchedTimer(base.CreateTimer(callback, state, dueTime, period), dueTime);
        }
    }

    private sealed class WatchedTimer(ITimer inner, TimeSpan due) : ITimer
    {
        public TimeSpan Due { get; private set; } = due;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            Due = dueTime;
            return inner.Change(dueTime, period);
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }

    [Fact]
    public async Task An_idle_session_polls_on_the_shared_clock_and_logs_out_at_the_autologout()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var world = new MailboxWorld(new Transcript("idle", "127.0.0.1", ["user joe@hosted.test"], [], []));
        var events = new MailboxEvents();
        var store = new MaildirStore(world.Layout, "test-node", "mail.test", events: events);
        var options = new ImapOptions { Hostname = "mail.test", FailedLoginDelay = TimeSpan.Zero, IdlePoll = TimeSpan.FromSeconds(30), AutologoutTimeout = TimeSpan.FromMinutes(31) };
        using var session = new ImapSession(options, new ImapServices(world.Logins, store, events), NullLogger.Instance, time);
        var (client, run) = DuplexStream.Serve(s => session.RunAsync(s, new ImapSessionInfo("idle", IPAddress.Loopback, IPAddress.Loopback), CancellationToken.None));
        await using var _ = client;
        var replies = new ReplyReader(client);
        await client.WriteAsync("a LOGIN joe@hosted.test pw\r\nb SELECT INBOX\r\nc IDLE\r\n"u8.ToArray());
        await client.FlushAsync();
        while (await replies.ReadLineAsync() is { } line && line != "+ idling")
        {
        }

        // Another program (no announcement) drops a message into new/: the next poll, on the clock, finds it.
        SmtpFixture.WriteMail(MailboxAssertions.MaildirOf(world.Store, world.Layout, "joe@hosted.test"), "joe@hosted.test", "1700000000.M1P1", "Subject: one\r\n\r\nbody\r\n");
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal("* 1 EXISTS", await replies.ReadLineAsync());

        // Past the autologout (RFC 9051 §5.4) the session says so and ends.
        time.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal("* BYE autologout; idle for too long", await replies.ReadLineAsync());
        Assert.Null(await replies.ReadLineAsync());
        await run.WaitAsync(Patience);
        Assert.Equal(0, IdleClock.For(time).Count);
    }
}
