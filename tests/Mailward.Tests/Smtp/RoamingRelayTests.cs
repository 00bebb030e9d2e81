// POP-before-SMTP over real sockets (issue 18, item 1): a POP3 login (MailKit's Pop3Client) from a
// stranger's address, then port 25 without AUTH from the same address. The grant makes the session
// that user, not an open relay for the address: the audit's attack (a no-smtp user relaying as
// another tenant's CEO) is refused, a deny rule beats the grant, an ordinary roaming user relays
// only as itself and within its sending limits, and roaming is off unless configured.
using System.Text;
using MailKit.Net.Pop3;
using MailKit.Security;
using Mailward.Tests.Support;

namespace Mailward.Tests.Smtp;

public class RoamingRelayTests
{
    private static readonly string[] Users =
        ["user joe@hosted.test", "user ann@hosted.test", "user nosmtp@hosted.test", "flags nosmtp@hosted.test no-smtp", "user ceo@another.test"];

    private static async Task PopLoginAsync(ServerFixture server, string user, string from)
    {
        using var pop = new Pop3Client { LocalEndPoint = new System.Net.IPEndPoint(System.Net.IPAddress.Parse(from), 0), Timeout = 15_000 };
        await pop.ConnectAsync(server.Pop3.Address.ToString(), server.Pop3.Port, SecureSocketOptions.None);
        await pop.AuthenticateAsync(user, "pw");
        await pop.DisconnectAsync(true);
    }

    /// <summary>Port 25, no AUTH: MAIL FROM sender, RCPT TO recipient; the replies to MAIL and RCPT.</summary>
    private static async Task<(string Mail, string Rcpt)> TryRelayAsync(ServerFixture server, string from, string sender, string recipient = "friend@remote.test", bool data = false)
    {
        await using var tcp = await server.ConnectAsync(from);
        var r = new ReplyReader(tcp);
        await r.ReadLineAsync();
        await tcp.WriteAsync(Encoding.ASCII.GetBytes($"HELO roamer.test\r\nMAIL FROM:<{sender}>\r\nRCPT TO:<{recipient}>\r\n"));
        await r.ReadLineAsync();
        var mail = await r.ReadLineAsync() ?? "";
        var rcpt = await r.ReadLineAsync() ?? "";
        if (data && rcpt.StartsWith("250", StringComparison.Ordinal))
        {
            await tcp.WriteAsync("DATA\r\n"u8.ToArray());
            Assert.StartsWith("354", await r.ReadLineAsync());
            await tcp.WriteAsync("Subject: roaming\r\n\r\nhello\r\n.\r\n"u8.ToArray());
            Assert.StartsWith("250", await r.ReadLineAsync());
        }
        await tcp.WriteAsync("QUIT\r\n"u8.ToArray());
        return (mail, rcpt);
    }

    [Fact]
    public async Task A_no_smtp_user_logged_in_over_pop3_cannot_relay_as_another_tenants_address()
    {
        await using var server = await ServerFixture.StartAsync(Users, "--Relay:RoamingMinutes=180");
        await PopLoginAsync(server, "nosmtp@hosted.test", "127.0.0.9");

        // The audit's attack: no AUTH, another tenant's CEO as sender, a remote recipient.
        var (mail, rcpt) = await TryRelayAsync(server, "127.0.0.9", "ceo@another.test");
        Assert.StartsWith("250", mail);
        Assert.StartsWith("554 5.7.1", rcpt);
        // Not as itself either: the no-smtp flag bars sending in every form.
        Assert.StartsWith("554 5.7.1", (await TryRelayAsync(server, "127.0.0.9", "nosmtp@hosted.test")).Rcpt);
        // Mail for hosted users is still accepted from that address, as from anyone.
        Assert.StartsWith("250", (await TryRelayAsync(server, "127.0.0.9", "ceo@another.test", "joe@hosted.test")).Rcpt);
        Assert.DoesNotContain(server.Log, l => l.Contains(" roaming ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_deny_rule_beats_a_roaming_grant()
    {
        await using var server = await ServerFixture.StartAsync([.. Users, "relay deny 127.0.0.9/32"], "--Relay:RoamingMinutes=180");
        await PopLoginAsync(server, "joe@hosted.test", "127.0.0.9");
        Assert.StartsWith("554 5.7.1", (await TryRelayAsync(server, "127.0.0.9", "joe@hosted.test")).Rcpt);
    }

    [Fact]
    public async Task A_roaming_user_relays_only_as_itself_within_its_sending_limit_and_is_logged()
    {
        await using var server = await ServerFixture.StartAsync(Users, "--Relay:RoamingMinutes=180", "--Submission:MaxMessagesPerHour=1");
        Assert.StartsWith("554 5.7.1", (await TryRelayAsync(server, "127.0.0.9", "joe@hosted.test")).Rcpt); // before any login
        await PopLoginAsync(server, "joe@hosted.test", "127.0.0.9");

        Assert.StartsWith("554 5.7.1", (await TryRelayAsync(server, "127.0.0.9", "ann@hosted.test")).Rcpt); // a neighbour's address
        Assert.StartsWith("554 5.7.1", (await TryRelayAsync(server, "127.0.0.9", "ceo@another.test")).Rcpt);
        Assert.StartsWith("554 5.7.1", (await TryRelayAsync(server, "127.0.0.10", "joe@hosted.test")).Rcpt); // only the address that logged in
        var (_, rcpt) = await TryRelayAsync(server, "127.0.0.9", "joe@hosted.test", data: true);
        Assert.StartsWith("250", rcpt);
        var queued = Assert.Single(server.Queue.Messages);
        Assert.Equal("joe@hosted.test", queued.Envelope.AuthenticatedUser);
        Assert.Contains(server.Log, l => l.Contains("roaming client=127.0.0.9 user=joe@hosted.test from=<joe@hosted.test>", StringComparison.Ordinal));
        // Joe's hourly limit (1) is spent: the next message waits, as after AUTH.
        Assert.StartsWith("450 4.7.1", (await TryRelayAsync(server, "127.0.0.9", "joe@hosted.test")).Mail);
    }

    [Fact]
    public async Task Roaming_is_off_by_default()
    {
        await using var server = await ServerFixture.StartAsync(Users);
        await PopLoginAsync(server, "joe@hosted.test", "127.0.0.9");
        Assert.StartsWith("554 5.7.1", (await TryRelayAsync(server, "127.0.0.9", "joe@hosted.test")).Rcpt);
    }
}
