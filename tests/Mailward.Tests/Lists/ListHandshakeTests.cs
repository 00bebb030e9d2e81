// Subscribing and unsubscribing by mail over real sockets (docs/lists.md, "Cookies"): the first
// message never acts, the confirmation goes to the address in question with a cookie, a reply to it
// acts; a forged, an expired, and another list's cookie do not.
using Mailward.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using static Mailward.Tests.Lists.ListTestMail;

namespace Mailward.Tests.Lists;

public class ListHandshakeTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Asks to subscribe (or unsubscribe) and returns the confirmation request the sink got.</summary>
    private static async Task<MimeKit.MimeMessage> RequestAsync(Smtp.ServerFixture server, TestMta sink, string sender, string command, int expected)
    {
        await SendAsync(server, sender, command);
        await sink.WaitForAsync(expected);
        await SettleAsync(server);
        return Parse(sink.Received.ElementAt(expected - 1));
    }

    [Fact]
    public async Task A_first_message_never_subscribes_and_the_reply_to_the_confirmation_does()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "list", "add", "team@hosted.test", "--name", "Team");

        var request = await RequestAsync(server, sink, "bob@remote.test", "team-subscribe@hosted.test", 1);
        Assert.Empty(await SubscribersAsync(server));
        var mail = sink.Received.First();
        Assert.Equal("team-return-@hosted.test", mail.Sender);
        Assert.Equal(["bob@remote.test"], mail.Recipients);
        Assert.Equal("auto-replied", request.Headers["Auto-Submitted"]);
        var confirm = Assert.Single(request.ReplyTo.Mailboxes).Address;
        Assert.Matches(@"^team-sc\.\d+\.[0-9a-f]{20}-bob=remote\.test@hosted\.test$", confirm);
        Assert.Contains(confirm, request.TextBody);

        await SendAsync(server, "bob@remote.test", confirm, "Re: confirm");
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        Assert.Equal(["bob@remote.test"], await SubscribersAsync(server));
        Assert.StartsWith("welcome to team@hosted.test", Parse(sink.Received.ElementAt(1)).Subject);

        // Unsubscribing is the same handshake with uc.
        var goodbyeRequest = await RequestAsync(server, sink, "bob@remote.test", "team-unsubscribe@hosted.test", 3);
        Assert.Equal(["bob@remote.test"], await SubscribersAsync(server));
        var unconfirm = Assert.Single(goodbyeRequest.ReplyTo.Mailboxes).Address;
        Assert.StartsWith("team-uc.", unconfirm);
        await SendAsync(server, "anyone@remote.test", unconfirm, "ok");
        await sink.WaitForAsync(4);
        await SettleAsync(server);
        Assert.Empty(await SubscribersAsync(server));
    }

    [Fact]
    public async Task The_confirmation_goes_to_the_address_asked_for_not_to_the_sender()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "list", "add", "team@hosted.test");
        var request = await RequestAsync(server, sink, "mallory@remote.test", "team-subscribe-carol=remote.test@hosted.test", 1);
        Assert.Equal(["carol@remote.test"], sink.Received.First().Recipients);
        Assert.EndsWith("-carol=remote.test@hosted.test", request.ReplyTo.Mailboxes.Single().Address);
        Assert.Empty(await SubscribersAsync(server));
    }

    [Theory]
    [InlineData("hash")] // one hex digit changed
    [InlineData("address")] // the cookie of another address
    [InlineData("list")] // another list's cookie (another secret)
    public async Task A_forged_cookie_does_not_subscribe(string forgery)
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "add", "other@hosted.test");
        var request = await RequestAsync(server, sink, "bob@remote.test", (forgery == "list" ? "other" : "team") + "-subscribe@hosted.test", 1);
        var confirm = request.ReplyTo.Mailboxes.Single().Address;
        var forged = forgery switch
        {
            "hash" => ChangeOneHexDigit(confirm),
            "address" => confirm.Replace("-bob=remote.test@", "-eve=remote.test@", StringComparison.Ordinal),
            _ => confirm.Replace("other-sc.", "team-sc.", StringComparison.Ordinal),
        };
        await SendAsync(server, "eve@remote.test", forged);
        await SettleAsync(server);
        Assert.Empty(await SubscribersAsync(server));
        Assert.Single(Lines(server, "list confirmation refused "), l => l.Contains("reason=the cookie does not match", StringComparison.Ordinal));
        Assert.DoesNotContain(Lines(server, "list subscribed "), _ => true);
    }

    [Fact]
    public async Task An_expired_cookie_does_not_subscribe_and_brings_a_new_request()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, clock);
        await CliAsync(server, "list", "add", "team@hosted.test");
        var request = await RequestAsync(server, sink, "bob@remote.test", "team-subscribe@hosted.test", 1);
        var confirm = request.ReplyTo.Mailboxes.Single().Address;
        clock.Advance(TimeSpan.FromHours(278) + TimeSpan.FromMinutes(1)); // ezmlm's 11.6 days, and a minute
        await SendAsync(server, "bob@remote.test", confirm);
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        Assert.Empty(await SubscribersAsync(server));
        Assert.Single(Lines(server, "list confirmation refused "), l => l.EndsWith("reason=the cookie has expired", StringComparison.Ordinal));
        var again = Parse(sink.Received.ElementAt(1)).ReplyTo.Mailboxes.Single().Address;
        Assert.NotEqual(confirm, again);
        await SendAsync(server, "bob@remote.test", again); // the new one holds
        await sink.WaitForAsync(3);
        await SettleAsync(server);
        Assert.Equal(["bob@remote.test"], await SubscribersAsync(server));
    }

    [Fact]
    public async Task A_request_by_subject_and_a_cookie_just_inside_its_time_subscribe()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, clock);
        await CliAsync(server, "list", "add", "team@hosted.test");
        await SendAsync(server, "bob@remote.test", "team-request@hosted.test", "subscribe");
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        var confirm = Parse(sink.Received.First()).ReplyTo.Mailboxes.Single().Address;
        Assert.StartsWith("team-sc.", confirm);
        clock.Advance(TimeSpan.FromHours(278) - TimeSpan.FromMinutes(1));
        await SendAsync(server, "bob@remote.test", confirm);
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        Assert.Equal(["bob@remote.test"], await SubscribersAsync(server));
    }

    [Fact]
    public async Task A_command_from_the_null_sender_is_never_answered()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "list", "add", "team@hosted.test");
        await SendAsync(server, "", "team-subscribe@hosted.test", from: "bob@remote.test");
        await SendAsync(server, "", "team-help@hosted.test", from: "bob@remote.test");
        await SettleAsync(server);
        Assert.Empty(sink.Received);
        Assert.Empty(Lines(server, "list answer "));
    }

    private static string ChangeOneHexDigit(string confirm)
    {
        var dot = confirm.LastIndexOf('.', confirm.IndexOf('-', 5));
        var i = dot + 1;
        var c = confirm[i] == '0' ? '1' : '0';
        return confirm[..i] + c + confirm[(i + 1)..];
    }
}
