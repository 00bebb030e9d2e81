// Password guessing (issue 18, item 7). Over POP3 sockets: the audit's attack, a good login to
// one's own account between guesses at another's, used to clear the address's failures; now it
// clears only its own. Against the login service: the back-off per account, IPv6 counted by /64
// (connections too), and an unknown name costing one Argon2 verification like a wrong password.
using System.Net;
using System.Text;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;
using Mailward.Protocols.Hosting;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Pop3;

public sealed class LoginThrottleTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    /// <summary>One POP3 connection from <paramref name="from"/>: USER and PASS pipelined; the answer to PASS.</summary>
    private static async Task<string> PopLoginAsync(ServerFixture server, string from, string user, string password)
    {
        await using var tcp = await server.ConnectAsync(from, server.Pop3);
        var r = new ReplyReader(tcp);
        Assert.StartsWith("+OK", await r.ReadLineAsync());
        await tcp.WriteAsync(Encoding.ASCII.GetBytes($"USER {user}\r\nPASS {password}\r\nQUIT\r\n"));
        await r.ReadLineAsync();
        return await r.ReadLineAsync() ?? "";
    }

    [Fact]
    public async Task Good_logins_to_ones_own_account_do_not_clear_guesses_at_another()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test"], "--Pop3:FailedLoginDelayMilliseconds=0");
        var guesses = new List<string>();
        for (var i = 0; i < 12; i++)
        {
            await PopLoginAsync(server, "127.0.0.7", "ann@hosted.test", "pw"); // the attacker's own account
            guesses.Add(await PopLoginAsync(server, "127.0.0.7", "joe@hosted.test", "guess" + i));
        }
        // Pop3:MaxLoginFailuresPerClient (10) guesses are answered; after that the address is throttled.
        Assert.Equal(10, guesses.Count(g => g == "-ERR [AUTH] invalid login or password"));
        Assert.All(guesses.Skip(10), g => Assert.StartsWith("-ERR [AUTH] too many failed logins", g));
        Assert.StartsWith("-ERR [AUTH] too many failed logins", await PopLoginAsync(server, "127.0.0.7", "ann@hosted.test", "pw"));
        Assert.StartsWith("+OK", await PopLoginAsync(server, "127.0.0.8", "joe@hosted.test", "pw")); // joe himself, elsewhere
    }

    private async Task<(LoginService Logins, PasswordHasher Hasher)> SetUpAsync(LoginOptions? options = null)
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("user", "add", "joe@hosted.test", "secret")).Ok();
        (await _m.Run("user", "add", "ann@hosted.test", "secret")).Ok();
        var hasher = new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 });
        return (new LoginService(_m.Store, hasher, options ?? new LoginOptions()), hasher);
    }

    private static LoginFailure Try(LoginService logins, string user, string password, string client) =>
        logins.VerifyAsync(user, password, IPAddress.Parse(client), null, "pop3", Core.Accounts.UserFlags.None).GetAwaiter().GetResult().Failure;

    [Fact]
    public async Task An_unknown_name_costs_one_argon2_verification_like_a_wrong_password()
    {
        var (logins, hasher) = await SetUpAsync();
        var before = hasher.Argon2Verifications;
        Assert.Equal(LoginFailure.BadCredentials, Try(logins, "joe@hosted.test", "wrong", "192.0.2.1"));
        Assert.Equal(before + 1, hasher.Argon2Verifications);
        Assert.Equal(LoginFailure.BadCredentials, Try(logins, "nobody@hosted.test", "wrong", "192.0.2.1"));
        Assert.Equal(before + 2, hasher.Argon2Verifications); // the same work: existence cannot be timed
        Assert.Equal(LoginFailure.BadCredentials, Try(logins, "nobody@unhosted.test", "", "192.0.2.1"));
        Assert.Equal(before + 3, hasher.Argon2Verifications);
    }

    [Fact]
    public async Task An_account_guessed_at_from_many_addresses_backs_off()
    {
        var (logins, _) = await SetUpAsync(new LoginOptions { MaxFailuresPerAccount = 5 });
        for (var i = 1; i <= 5; i++)
            Assert.Equal(LoginFailure.BadCredentials, Try(logins, "joe@hosted.test", "guess", $"192.0.2.{i}"));
        Assert.Equal(LoginFailure.Throttled, Try(logins, "joe@hosted.test", "secret", "198.51.100.1")); // even the right password, for the window
        Assert.Equal(LoginFailure.None, Try(logins, "ann@hosted.test", "secret", "198.51.100.1")); // other accounts are not held up
        // Unknown names back off alike, so the throttle does not tell which names exist either.
        for (var i = 1; i <= 5; i++)
            Try(logins, "nobody@hosted.test", "guess", $"192.0.2.{i + 10}");
        Assert.Equal(LoginFailure.Throttled, Try(logins, "nobody@hosted.test", "guess", "198.51.100.2"));
    }

    [Fact]
    public async Task IPv6_clients_count_by_their_64_for_logins_and_connections()
    {
        var (logins, _) = await SetUpAsync(new LoginOptions { MaxFailuresPerClient = 3 });
        for (var i = 1; i <= 3; i++)
            Assert.Equal(LoginFailure.BadCredentials, Try(logins, "joe@hosted.test", "guess", $"2001:db8:1:2::{i:x}"));
        Assert.Equal(LoginFailure.Throttled, Try(logins, "ann@hosted.test", "secret", "2001:db8:1:2:ffff:ffff:ffff:ffff")); // a fresh address of the same /64
        Assert.Equal(LoginFailure.None, Try(logins, "ann@hosted.test", "secret", "2001:db8:1:3::1")); // the next /64 is someone else

        var limiter = new ConnectionLimiter(100, 2);
        Assert.Null(limiter.TryEnter(IPAddress.Parse("2001:db8::1")));
        Assert.Null(limiter.TryEnter(IPAddress.Parse("2001:db8::2")));
        Assert.NotNull(limiter.TryEnter(IPAddress.Parse("2001:db8::3")));
        Assert.Null(limiter.TryEnter(IPAddress.Parse("2001:db8:0:1::3")));
        limiter.Leave(IPAddress.Parse("2001:db8::1"));
        Assert.Null(limiter.TryEnter(IPAddress.Parse("2001:db8::4")));
    }

    [Fact]
    public void A_flood_of_addresses_keeps_the_throttle_within_Auth_MaxTrackedEntries()
    {
        // Bounded memory: past the bound the oldest entries go, so the first address's failure is forgotten.
        var throttle = new LoginThrottle(new LoginOptions { MaxFailuresPerClient = 1, MaxFailuresPerAccount = 1_000_000, MaxTrackedEntries = 100 });
        var now = DateTimeOffset.UtcNow;
        var first = IPAddress.Parse("198.51.100.1");
        throttle.Failed(first, "joe@hosted.test", now);
        Assert.True(throttle.IsThrottled(first, "joe@hosted.test", now));
        for (var i = 0; i < 1_000; i++)
            throttle.Failed(new IPAddress([203, 0, (byte)(i >> 8), (byte)i]), $"guess{i}@hosted.test", now.AddMilliseconds(i + 1));
        Assert.False(throttle.IsThrottled(first, "joe@hosted.test", now.AddSeconds(2)));
        Assert.True(throttle.IsThrottled(new IPAddress([203, 0, 3, 231]), "x@hosted.test", now.AddSeconds(2))); // the newest are kept
    }
}
