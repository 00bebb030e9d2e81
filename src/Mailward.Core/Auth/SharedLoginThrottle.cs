// LoginThrottle's three views (per client, per (client, login) pair, per account) kept in the
// account store's shared counters (PostgreSQL, schema migration 10), so that every node counts every
// node's failures: guesses spread over the nodes of a cluster are throttled as if they met one. The
// counters and their windows are the in-process throttle's; only where they live differs.
// Every call needs the store: when it cannot be reached the call throws AccountStoreUnavailableException
// and the login fails temporarily (LoginService), never skipping the throttle.
using System.Net;
using Mailward.Core.Accounts;
using Mailward.Core.Policy;

namespace Mailward.Core.Auth;

internal sealed class SharedLoginThrottle(ISharedCounters counters, LoginOptions options) : ILoginThrottle
{
    private const string ClientKind = "login-client", PairKind = "login-pair", AccountKind = "login-account";

    public bool IsThrottled(IPAddress client, string account, DateTimeOffset now)
    {
        var counts = counters.Counts([Client(client), Account(account)], now, options.FailureWindow);
        return counts[0] >= options.MaxFailuresPerClient || counts[1] >= options.MaxFailuresPerAccount;
    }

    // The order, pair before client before account, is the one every writer locks rows in.
    public void Failed(IPAddress client, string account, DateTimeOffset now) =>
        counters.Increment([Pair(client, account), Client(client), Account(account)], now, options.FailureWindow);

    public void Succeeded(IPAddress client, string account, DateTimeOffset now) =>
        counters.TakeBack(Pair(client, account), Client(client), now, options.FailureWindow);

    private static CounterKey Client(IPAddress client) => new(ClientKind, ClientGroup.Of(client).ToString());

    private static CounterKey Pair(IPAddress client, string account) => new(PairKind, ClientGroup.Of(client) + " " + account);

    private static CounterKey Account(string account) => new(AccountKind, account);
}
