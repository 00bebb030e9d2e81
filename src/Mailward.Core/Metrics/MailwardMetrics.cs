// Every metric the server exports, in one place (docs/metrics.md): names, help, bounded labels and
// buckets, and the one-line calls the components make where they already log the event. These are
// prometheus-net's own types in one registry per process, exported by the Admin listener's /metrics.
// No label carries a user, an address or a domain: each label's values come from a fixed set in
// the code (listeners, stages, results) or pass through BoundedLabel, which caps them.
using System.Diagnostics;
using System.Security.Authentication;
using Mailward.Core.Auth;
using Mailward.Core.Queue;
using Prometheus;

namespace Mailward.Core.Metrics;

public static class MailwardMetrics
{
    /// <summary>The process's registry: what /metrics exports (a server per process, as `mailward serve` runs).</summary>
    public static readonly CollectorRegistry Registry = NewRegistry();

    private static readonly MetricFactory Factory = Prometheus.Metrics.WithCustomRegistry(Registry);

    // Connections and sessions, per listener (smtp, submission, smtps, pop3, pop3s, imap, imaps).
    private static readonly Counter Connections = Factory.CreateCounter("mailward_connections_total",
        "TCP connections accepted by a mail listener", ["listener"]);
    private static readonly Counter ConnectionsRefused = Factory.CreateCounter("mailward_connections_refused_total",
        "Connections refused at the door because the listener's or the client's slots were full", ["listener"]);
    private static readonly Gauge SessionsActive = Factory.CreateGauge("mailward_sessions_active",
        "Sessions running now", ["listener"]);
    private static readonly Histogram SessionSeconds = Factory.CreateHistogram("mailward_session_duration_seconds",
        "How long sessions lasted, from the accepted connection to its close", ["listener"],
        new HistogramConfiguration { Buckets = [0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200] });

    // Messages at the door.
    private static readonly Counter MessagesAccepted = Factory.CreateCounter("mailward_messages_accepted_total",
        "Messages committed to the queue (the 250 after DATA, or a sendmail submission)", ["source"]);
    private static readonly Counter Refusals = Factory.CreateCounter("mailward_messages_refused_total",
        "Refusals at the SMTP door: a client at connect or MAIL (rate limits, early talkers), a recipient at RCPT, or a whole message at the end of DATA, by reason", ["stage", "reason"]);
    private static readonly BoundedLabel RefusalReasons = new(64);

    // The queue, read at each scrape.
    private static readonly Gauge QueueMessages = Factory.CreateGauge("mailward_queue_messages",
        "Messages in the queue (waiting for delivery or a retry)");
    private static readonly Gauge QueueOldest = Factory.CreateGauge("mailward_queue_oldest_message_age_seconds",
        "Age of the oldest message in the queue (0 when it is empty)");

    // Delivery.
    private static readonly Counter Deliveries = Factory.CreateCounter("mailward_deliveries_total",
        "Delivery attempts per recipient, by channel (local, remote) and result (delivered, deferred, failed)", ["channel", "result"]);
    private static readonly Histogram DeliveryDelay = Factory.CreateHistogram("mailward_delivery_delay_seconds",
        "Time from a message's arrival in the queue to a recipient's successful delivery", ["channel"],
        new HistogramConfiguration { Buckets = [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 300, 1800, 3600, 4 * 3600, 24 * 3600, 5 * 24 * 3600] });
    private static readonly BoundedLabel Channels = new(8);

    // Logins and the success cache.
    private static readonly Counter Logins = Factory.CreateCounter("mailward_logins_total",
        "Login attempts by service (pop3, imap, smtp, web, ...) and result (ok, bad_credentials, disabled, throttled)", ["service", "result"]);
    private static readonly BoundedLabel Services = new(16);
    private static readonly Counter LoginCache = Factory.CreateCounter("mailward_login_cache_total",
        "Password checks answered by the salted success cache (hit) or by the password hash (miss)", ["result"]);

    // TLS.
    private static readonly Counter TlsHandshakes = Factory.CreateCounter("mailward_tls_handshakes_total",
        "TLS handshakes on the mail listeners (implicit TLS and STARTTLS) by negotiated version, or failed", ["version"]);

    // The account store behind the cache.
    private static readonly Histogram AccountStoreSeconds = Factory.CreateHistogram("mailward_account_store_seconds",
        "Latency of the account store's lookups that the cache could not answer, by lookup", ["lookup"],
        new HistogramConfiguration { Buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2] });

    private static CollectorRegistry NewRegistry()
    {
        // A registry of our own: the library's default one starts adapters that listen to every
        // EventCounter and Meter in the process (Kestrel's among them), a cost on the hot path.
        var registry = Prometheus.Metrics.NewCustomRegistry();
        DotNetStats.Register(registry); // process CPU, memory, GC: read at scrape time only
        return registry;
    }

    public static void ConnectionAccepted(string listener) => Connections.WithLabels(listener).Inc();

    public static void ConnectionRefused(string listener) => ConnectionsRefused.WithLabels(listener).Inc();

    /// <summary>A session begins; returns its start, for <see cref="SessionEnded"/>.</summary>
    public static long SessionStarted(string listener)
    {
        SessionsActive.WithLabels(listener).Inc();
        return Stopwatch.GetTimestamp();
    }

    public static void SessionEnded(string listener, long started)
    {
        SessionsActive.WithLabels(listener).Dec();
        SessionSeconds.WithLabels(listener).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>A message committed to the queue; <paramref name="source"/> is smtp, submission or sendmail.</summary>
    public static void MessageAccepted(string source) => MessagesAccepted.WithLabels(source).Inc();

    /// <summary>A refusal at <paramref name="stage"/> (rcpt, data) for a reason from the code's own table (the log's reason=).</summary>
    public static void MessageRefused(string stage, string reason) => Refusals.WithLabels(stage, RefusalReasons.Of(reason)).Inc();

    /// <summary>The queue's gauges, read just before a scrape.</summary>
    public static void ReadQueue(QueueStore queue, DateTimeOffset now)
    {
        var (count, oldest) = queue.Summary();
        QueueMessages.Set(count);
        QueueOldest.Set(oldest is { } o ? Math.Max(0, (now - o).TotalSeconds) : 0);
    }

    /// <summary>One recipient's attempt as the delivery log line shows it; the delay counts for delivered ones.</summary>
    public static void Delivery(string channel, string result, TimeSpan sinceArrival)
    {
        if (result == "not-local")
            return; // local delivery handing the recipient to remote delivery: no outcome yet
        var c = Channels.Of(channel);
        Deliveries.WithLabels(c, result).Inc();
        if (result == "delivered")
            DeliveryDelay.WithLabels(c).Observe(Math.Max(0, sinceArrival.TotalSeconds));
    }

    /// <summary>A login's outcome; returns <paramref name="result"/>, so the call wraps the return.</summary>
    public static LoginResult Login(string service, LoginResult result)
    {
        Logins.WithLabels(Services.Of(service), result.Failure switch
        {
            LoginFailure.None => "ok",
            LoginFailure.BadCredentials => "bad_credentials",
            LoginFailure.ServiceDisabled => "disabled",
            LoginFailure.Throttled => "throttled",
            LoginFailure.Unavailable => "unavailable",
            _ => "other",
        }).Inc();
        return result;
    }

    public static void LoginCacheUsed(bool hit) => LoginCache.WithLabels(hit ? "hit" : "miss").Inc();

    public static void TlsHandshake(SslProtocols version) => TlsHandshakes.WithLabels(version switch
    {
        SslProtocols.Tls13 => "TLSv1.3",
        SslProtocols.Tls12 => "TLSv1.2",
        _ => "other",
    }).Inc();

    public static void TlsHandshakeFailed() => TlsHandshakes.WithLabels("failed").Inc();

    /// <summary>One lookup the account store answered, timed from <paramref name="started"/> (Stopwatch.GetTimestamp()).</summary>
    public static void AccountStoreLookup(string lookup, long started) =>
        AccountStoreSeconds.WithLabels(lookup).Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
}
