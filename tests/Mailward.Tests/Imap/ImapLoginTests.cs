// IMAP logins share POP3's login code (issue 12, item 3): the last login says "imap", a login grants
// roaming relay to its address as a POP3 login does, the no-imap flag refuses, and one user's
// connections from one address are capped (Imap:MaxConnectionsPerUserAndClient).
using System.Net;
using System.Text;
using MailKit.Net.Imap;
using MailKit.Security;
using Mailward.Core.Accounts;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Imap;

public class ImapLoginTests
{
    private static async Task<ImapClient> LoginAsync(ServerFixture server, string user, string from)
    {
        var client = new ImapClient { LocalEndPoint = new IPEndPoint(IPAddress.Parse(from), 0), Timeout = 15_000 };
        await client.ConnectAsync(server.Imap.Address.ToString(), server.Imap.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, "pw");
        return client;
    }

    [Fact]
    public async Task A_login_is_recorded_as_imap_and_grants_roaming_relay_to_its_address()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Relay:RoamingMinutes=180");
        Assert.StartsWith("554 5.7.1", await RcptAsync(server, "127.0.0.9")); // before any login
        using (var client = await LoginAsync(server, "joe@hosted.test", "127.0.0.9"))
            await client.DisconnectAsync(true);
        Assert.StartsWith("250", await RcptAsync(server, "127.0.0.9"));
        Assert.StartsWith("554 5.7.1", await RcptAsync(server, "127.0.0.10")); // only the address that logged in
        using var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        Assert.Equal("imap", store.FindUser("joe", "hosted.test")!.LastLogin!.Service);
    }

    private static async Task<string> RcptAsync(ServerFixture server, string from)
    {
        await using var tcp = await server.ConnectAsync(from);
        var r = new ReplyReader(tcp);
        await r.ReadLineAsync();
        await tcp.WriteAsync(Encoding.ASCII.GetBytes("HELO roamer.test\r\nMAIL FROM:<joe@hosted.test>\r\nRCPT TO:<friend@remote.test>\r\nQUIT\r\n"));
        await r.ReadLineAsync();
        await r.ReadLineAsync();
        return await r.ReadLineAsync() ?? "";
    }

    [Fact]
    public async Task The_no_imap_flag_refuses_and_a_users_connections_per_address_are_capped()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test", "flags ann@hosted.test no-imap"],
            "--Imap:MaxConnectionsPerUserAndClient=2", "--Imap:FailedLoginDelayMilliseconds=0");
        var refused = await Assert.ThrowsAsync<AuthenticationException>(() => LoginAsync(server, "ann@hosted.test", "127.0.0.9"));
        Assert.Contains("IMAP access is disabled", refused.Message);

        using var first = await LoginAsync(server, "joe@hosted.test", "127.0.0.9");
        using var second = await LoginAsync(server, "joe@hosted.test", "127.0.0.9");
        var third = await Assert.ThrowsAsync<AuthenticationException>(() => LoginAsync(server, "joe@hosted.test", "127.0.0.9"));
        Assert.Contains("too many connections for this user", third.Message);
        using (var elsewhere = await LoginAsync(server, "joe@hosted.test", "127.0.0.10")) // another address has its own count
            Assert.True(elsewhere.IsAuthenticated);
        await first.DisconnectAsync(true);
        await Task.Delay(200); // the server sees the logout
        using var again = await LoginAsync(server, "joe@hosted.test", "127.0.0.9"); // a freed slot is usable again
        Assert.True(again.IsAuthenticated);
    }
}
