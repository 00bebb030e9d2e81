// Greylisting at RCPT (postgrey, as a door policy): a recipient the other checks accepted, from a
// stranger, is deferred with 450 4.7.1 the first time its client network, sender and recipient are
// seen, and accepted when the sender retries after Greylist:DelaySeconds; real mail servers retry,
// most spam software does not. Relay clients, authenticated and roaming users and submission are
// exempt, as for the rate limits. The state is in the account store (IGreylistStore), so nodes that
// share a store share it; a store that fails lets the recipient through (greylisting is a filter,
// never a reason to lose mail).
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Policy;
using Mailward.Core.RateLimit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Greylist;

public sealed partial class GreylistPolicy(ISmtpPolicy inner, SmtpPolicy relay, IGreylistStore store, GreylistOptions options, TimeProvider? time = null,
    ILogger? logger = null) : ISmtpPolicy
{
    private static readonly TimeSpan CleanupEvery = TimeSpan.FromMinutes(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _log = logger ?? NullLogger.Instance;
    private long _lastCleanup = long.MinValue;
    private readonly ClusterJobs _jobs = ClusterJobs.For(store);

    public ValueTask<PolicyDecision> ConnectAsync(ClientInfo client, CancellationToken ct = default) => inner.ConnectAsync(client, ct);

    public ValueTask<PolicyDecision> HeloAsync(ClientInfo client, string helo, CancellationToken ct = default) => inner.HeloAsync(client, helo, ct);

    public ValueTask<PolicyDecision> MailAsync(ClientInfo client, string mailbox, string address, long declaredSize, CancellationToken ct = default) =>
        inner.MailAsync(client, mailbox, address, declaredSize, ct);

    public ValueTask<IReadOnlyList<UserRecord>> RoamingUsersAsync(ClientInfo client, CancellationToken ct = default) => inner.RoamingUsersAsync(client, ct);

    public async ValueTask<RecipientDecision> RcptAsync(ClientInfo client, string localPart, string domain, bool domainIsLiteral, string address, long size = 0,
        CancellationToken ct = default)
    {
        var decision = await inner.RcptAsync(client, localPart, domain, domainIsLiteral, address, size, ct);
        if (decision.Verdict != RecipientVerdict.AcceptLocal || decision.Outcome.Refuses || await DoorLimitsPolicy.IsExemptAsync(relay, client, ct))
            return decision;
        // The sender of this transaction, kept in the session's findings at MAIL (MailAuthPolicy).
        var triplet = new GreylistTriplet(Network(client.Address), (client.Findings?.SpfSender ?? "").ToLowerInvariant(), decision.Address);
        var now = _time.GetUtcNow();
        GreylistAnswer answer;
        try
        {
            answer = store.CheckGreylist(triplet, now, options);
            CleanUpNow(now);
        }
        catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or InvalidOperationException or AccountStoreUnavailableException)
        {
            StoreFailed(_log, triplet.Client, e.Message);
            return decision;
        }
        Checked(_log, triplet.Client, triplet.Sender, triplet.Recipient, answer.Why, (long)answer.Wait.TotalSeconds);
        if (answer.Passed)
            return decision;
        return new RecipientDecision(RecipientVerdict.Deferred, decision.Address, PolicyDecision.TempFail(
            $"450 4.7.1 <{address}>: Recipient address rejected: greylisted for {(long)answer.Wait.TotalSeconds} seconds; mail from a new sender is accepted when it is retried",
            "greylisted"));
    }

    public ValueTask<PolicyDecision> EndOfDataAsync(ClientInfo client, IReadOnlyList<string> recipients, IReadOnlySet<string> hosted, long size,
        CancellationToken ct = default) => inner.EndOfDataAsync(client, recipients, hosted, size, ct);

    public bool HasStorageFor(long size) => inner.HasStorageFor(size);

    /// <summary>The client cut to its network (Greylist:Ipv4PrefixLength, Greylist:Ipv6PrefixLength), as text with the prefix.</summary>
    public string Network(IPAddress client)
    {
        if (client.IsIPv4MappedToIPv6)
            client = client.MapToIPv4();
        var v4 = client.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork;
        var prefix = v4 ? options.Ipv4PrefixLength : options.Ipv6PrefixLength;
        return Cut(client, prefix) + "/" + prefix;
    }

    private static string Cut(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes).ToString();
    }

    /// <summary>Removes what is past its use, at most once a minute and a bounded number of rows (Greylist:CleanupRows).</summary>
    private void CleanUpNow(DateTimeOffset now)
    {
        var stamp = _time.GetTimestamp();
        var last = Interlocked.Read(ref _lastCleanup);
        if (last != long.MinValue && _time.GetElapsedTime(last, stamp) < CleanupEvery)
            return;
        if (Interlocked.CompareExchange(ref _lastCleanup, stamp, last) != last)
            return; // another session does it
        // Once per cluster at a time: nodes sharing a PostgreSQL store take turns (docs/multi-node.md).
        _jobs.TryRun("greylist-cleanup", () =>
        {
            var removed = store.CleanGreylist(now, options);
            if (removed > 0)
                Cleaned(_log, removed);
        });
    }

    [LoggerMessage(EventId = 2420, Level = LogLevel.Information, Message = "greylist client={Client} from=<{Sender}> to=<{Recipient}> result={Result} wait={Wait}s")]
    private static partial void Checked(ILogger logger, string client, string sender, string recipient, string result, long wait);

    [LoggerMessage(EventId = 2421, Level = LogLevel.Information, Message = "greylist cleanup removed {Rows} rows")]
    private static partial void Cleaned(ILogger logger, int rows);

    [LoggerMessage(EventId = 2422, Level = LogLevel.Warning, Message = "greylist client={Client} not checked: the account store failed: {Error} (let through)")]
    private static partial void StoreFailed(ILogger logger, string client, string error);
}
