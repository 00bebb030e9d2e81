// Digests over real sockets (docs/lists.md, "Digests"): -digest-subscribe's handshake (a list
// cookie does not confirm it), a digest by count, by time (driven clock; after a post, and by the digest
// timer for a list nobody posts to) and by size, as one
// multipart/digest through the queue to the test MTA; digest subscribers get no single posts; a
// list without digest subscribers owes nobody old posts; a crash before `digested` is rewritten
// sends that digest again.
using System.Text;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using MimeKit;
using static Mailward.Tests.Lists.ListTestMail;

namespace Mailward.Tests.Lists;

public class ListDigestTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);

    private static Task<ServerFixture> StartAsync(TestMta sink, TimeProvider? time, params string[] settings) =>
        ServerFixture.StartAsync(Users, time, ["--Delivery:Enabled=true", $"--Remote:Routes:remote.test={sink.Endpoint}", .. settings]);

    private static string Digested(ServerFixture server) =>
        Path.Combine(server.DataPath, "domains", "hosted.test", ".lists", "team", "digested");

    private static List<MimeMessage> Digests(TestMta sink) =>
        [.. sink.Received.Select(Parse).Where(m => m.Headers.Contains("X-Mailward-List-Digest"))];

    /// <summary>The posts' subjects in a digest's multipart/digest part, checking its shape on the way.</summary>
    private static string[] Subjects(MimeMessage digest)
    {
        var mixed = Assert.IsType<Multipart>(digest.Body);
        Assert.Equal("mixed", mixed.ContentType.MediaSubtype);
        Assert.IsType<TextPart>(mixed[0]);
        var parts = Assert.IsType<Multipart>(mixed[1]);
        Assert.Equal("digest", parts.ContentType.MediaSubtype);
        return [.. parts.Select(p => Assert.IsType<MessagePart>(p).Message?.Subject ?? "")];
    }

    [Fact]
    public async Task Digest_subscribe_by_mail_then_a_digest_by_count_goes_to_the_digest_subscribers_only()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, null, "--Lists:DigestPosts=2");
        await CliAsync(server, "list", "add", "team@hosted.test", "--name", "Team");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test");

        await SendAsync(server, "bob@remote.test", "team-digest-subscribe@hosted.test", "subscribe");
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        var request = Parse(sink.Received.Single());
        var confirm = Assert.Single(request.ReplyTo.Mailboxes).Address;
        Assert.Matches(@"^team-digest-sc\.\d+\.[0-9a-f]{20}-bob=remote\.test@hosted\.test$", confirm);
        Assert.Empty((await CliAsync(server, "list", "digest", "team@hosted.test")).Trim());

        // The same cookie at the list's own sc. address does not subscribe (its HMAC is over digest-sc).
        await SendAsync(server, "bob@remote.test", confirm.Replace("team-digest-sc.", "team-sc.", StringComparison.Ordinal), "Re: confirm");
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        Assert.Single(Lines(server, "list confirmation refused "));
        Assert.Equal(["joe@hosted.test"], await SubscribersAsync(server));

        await SendAsync(server, "bob@remote.test", confirm, "Re: confirm");
        await sink.WaitForAsync(3);
        await SettleAsync(server);
        Assert.Equal("bob@remote.test", (await CliAsync(server, "list", "digest", "team@hosted.test")).Trim());
        Assert.Equal(["joe@hosted.test"], await SubscribersAsync(server));
        Assert.StartsWith("welcome to team@hosted.test (digest)", Parse(sink.Received.ElementAt(2)).Subject);

        await SendAsync(server, "friend@remote.test", "team@hosted.test", "one");
        await SettleAsync(server);
        Assert.Empty(Digests(sink));
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "two");
        await sink.WaitForAsync(4);
        await SettleAsync(server);
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "three");
        await SettleAsync(server);

        Assert.Equal(3, Mail(server, "joe@hosted.test").Count);
        Assert.Equal(4, sink.Received.Count); // bob: the requests, the welcome and one digest; no single post
        var digest = Assert.Single(Digests(sink));
        var mail = sink.Received.Last();
        Assert.Equal("team-return-digest-@hosted.test", mail.Sender);
        Assert.Equal(["bob@remote.test"], mail.Recipients);
        Assert.Equal("1-2", digest.Headers["X-Mailward-List-Digest"]);
        Assert.Equal("Team digest, posts 1 to 2", digest.Subject);
        Assert.Equal("<mailto:team-digest-unsubscribe@hosted.test>", digest.Headers["List-Unsubscribe"]); // put on at delivery (no base URL: mailto: alone)
        Assert.False(digest.Headers.Contains("List-Unsubscribe-Post"));
        Assert.Equal("list", digest.Headers["Precedence"]);
        Assert.Equal(["one", "two"], Subjects(digest));
        Assert.Contains("1: one", Assert.IsType<TextPart>(Assert.IsType<Multipart>(digest.Body)[0]).Text);
        Assert.Single(Lines(server, "list digest "), l => l.EndsWith("posts=1-2 recipients=1", StringComparison.Ordinal));

        // Unsubscribing from the digest is the same handshake.
        await SendAsync(server, "bob@remote.test", "team-digest-unsubscribe@hosted.test", "bye");
        await sink.WaitForAsync(5);
        await SettleAsync(server);
        var unconfirm = Assert.Single(Parse(sink.Received.ElementAt(4)).ReplyTo.Mailboxes).Address;
        Assert.StartsWith("team-digest-uc.", unconfirm);
        await SendAsync(server, "bob@remote.test", unconfirm, "ok");
        await sink.WaitForAsync(6);
        await SettleAsync(server);
        Assert.Empty((await CliAsync(server, "list", "digest", "team@hosted.test")).Trim());
    }

    [Fact]
    public async Task A_digest_goes_when_its_oldest_post_is_two_days_old_or_its_posts_reach_the_byte_limit()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta();
        // The look after each post only: the digest timer would send posts one and two before three arrives.
        await using var server = await StartAsync(sink, clock, "--Lists:DigestBytes=2048", "--Lists:DigestCheckMinutes=0");
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "digest", "team@hosted.test", "add", "rob@remote.test");

        await SendAsync(server, "friend@remote.test", "team@hosted.test", "one");
        await SettleAsync(server);
        clock.Advance(TimeSpan.FromHours(47));
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "two");
        await SettleAsync(server);
        Assert.Empty(sink.Received);
        clock.Advance(TimeSpan.FromHours(2)); // post one is 49 hours old now
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "three");
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        Assert.Equal(["one", "two", "three"], Subjects(Assert.Single(Digests(sink))));
        Assert.Equal(["rob@remote.test"], sink.Received.Single().Recipients);

        // Past Lists:DigestBytes at once: a digest of that post alone.
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "big", body: string.Concat(Enumerable.Repeat("a line of the big post\r\n", 100)));
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        Assert.Equal("4-4", Digests(sink)[1].Headers["X-Mailward-List-Digest"]);
        Assert.Equal(["big"], Subjects(Digests(sink)[1]));
    }

    [Fact]
    public async Task The_digest_timer_sends_a_quiet_list_s_digest_once_its_oldest_post_is_two_days_old()
    {
        var clock = new FakeTimeProvider(Start);
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, clock); // Lists:DigestCheckMinutes: 60
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "add", "quiet@hosted.test"); // no digest subscribers: not looked at
        await CliAsync(server, "list", "digest", "team@hosted.test", "add", "rob@remote.test");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "one");
        await SettleAsync(server);

        // The hourly looks up to 47 hours: nothing due yet, and no post comes to look.
        clock.Advance(TimeSpan.FromHours(47));
        await TimerLinesAsync(server, 1);
        Assert.All(Lines(server, "list digest timer "), l => Assert.Equal("list digest timer lists=1 sent=0", l));
        Assert.Empty(Digests(sink));
        // Two hours later a look finds post one 49 hours old: its digest goes out with no post to trigger it.
        clock.Advance(TimeSpan.FromHours(2));
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        Assert.Equal(["one"], Subjects(Assert.Single(Digests(sink))));
        Assert.Equal(["rob@remote.test"], sink.Received.Single().Recipients);
        await TimerLinesAsync(server, 1, "list digest timer lists=1 sent=1"); // logged once the round is over
        Assert.Single(Lines(server, "list digest timer "), l => l == "list digest timer lists=1 sent=1");
        // And once only: the looks after that owe nobody anything.
        var looks = Lines(server, "list digest timer ").Count();
        clock.Advance(TimeSpan.FromHours(1));
        await TimerLinesAsync(server, looks + 1);
        Assert.Single(Lines(server, "list digest timer "), l => l == "list digest timer lists=1 sent=1");
        Assert.Single(Digests(sink));
    }

    /// <summary>Waits until the digest timer has logged <paramref name="count"/> looks (it runs beside the test, after the clock moved).</summary>
    private static async Task TimerLinesAsync(ServerFixture server, int count, string start = "list digest timer ")
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (Lines(server, start).Count() < count)
        {
            Assert.True(DateTime.UtcNow < until, $"the digest timer logged {Lines(server, start).Count()} lines starting \"{start}\", not {count}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task A_new_digest_subscriber_gets_no_old_posts_and_a_crash_before_digested_is_written_sends_the_digest_again()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink, null, "--Lists:DigestPosts=2");
        await CliAsync(server, "list", "add", "team@hosted.test");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "one");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "two");
        await SettleAsync(server);
        Assert.False(File.Exists(Digested(server))); // no digest subscriber: nothing owed, nothing written

        await CliAsync(server, "list", "digest", "team@hosted.test", "add", "rob@remote.test");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "three");
        await SettleAsync(server);
        Assert.StartsWith("mailward-list-digested 1\nlast: 2\nEND ", File.ReadAllText(Digested(server)));
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "four");
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        Assert.Equal(["three", "four"], Subjects(Assert.Single(Digests(sink))));
        Assert.StartsWith("mailward-list-digested 1\nlast: 4\nEND ", File.ReadAllText(Digested(server)));

        // What a crash after the digest's commit and before the rewrite left: digested still says 2.
        var body = Encoding.UTF8.GetBytes("mailward-list-digested 1\nlast: 2\n");
        File.WriteAllBytes(Digested(server), [.. body, .. Encoding.ASCII.GetBytes($"END {System.IO.Hashing.Crc32.HashToUInt32(body):x8}\n")]);
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "five");
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        Assert.Equal(["three", "four"], Subjects(Digests(sink)[1])); // twice rather than never
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "six");
        await sink.WaitForAsync(3);
        await SettleAsync(server);
        Assert.Equal(["five", "six"], Subjects(Digests(sink)[2]));
        Assert.Equal(6, Mail(server, "joe@hosted.test").Count);
    }
}
