// Posting over real sockets (docs/lists.md, "Posting"): a post reaches every subscriber, local and
// remote, with the list's fields, its number and a VERP envelope sender; the posting policies, the
// deny set, the size limit, the loop guard and the DMARC From rewrite; the archive keeps the post.
using System.Text;
using Mailward.Tests.Support;
using static Mailward.Tests.Lists.ListTestMail;

namespace Mailward.Tests.Lists;

public class ListPostingTests
{
    private static async Task<Smtp.ServerFixture> WithListAsync(TestMta sink, params string[] options)
    {
        var server = await StartAsync(sink);
        await CliAsync(server, ["list", "add", "team@hosted.test", "--name", "Team", .. options]);
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test", "amy@hosted.test", "rob@remote.test");
        return server;
    }

    [Fact]
    public async Task A_post_reaches_every_subscriber_with_the_list_fields_its_number_and_a_verp_sender()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink, "--prefix", "[team]");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "plans");
        await sink.WaitForAsync(1);
        await SettleAsync(server);

        foreach (var user in new[] { "joe", "amy" })
        {
            var file = Assert.Single(MailFiles(server, $"{user}@hosted.test"));
            var text = File.ReadAllText(file);
            Assert.StartsWith($"Return-Path: <team-return-1-{user}=hosted.test@hosted.test>", text);
            var copy = MimeKit.MimeMessage.Load(file);
            Assert.Equal("[team] plans", copy.Subject);
            Assert.Equal("\"Team\" <team.hosted.test>", copy.Headers["List-Id"]);
            Assert.Equal("<mailto:team-help@hosted.test>", copy.Headers["List-Help"]);
            Assert.Equal("<mailto:team-subscribe@hosted.test>", copy.Headers["List-Subscribe"]);
            Assert.Equal("<mailto:team-unsubscribe@hosted.test>", copy.Headers["List-Unsubscribe"]);
            Assert.Equal("<mailto:team@hosted.test>", copy.Headers["List-Post"]);
            Assert.Null(copy.Headers["List-Unsubscribe-Post"]); // no https: URL to go with it (docs/lists.md)
            Assert.Equal("list", copy.Headers["Precedence"]);
            Assert.Equal("1", copy.Headers["X-Mailward-List-Number"]);
            Assert.Equal("friend@remote.test", copy.From.Mailboxes.Single().Address);
        }
        var remote = Assert.Single(sink.Received);
        Assert.Equal("team-return-1-rob=remote.test@hosted.test", remote.Sender); // VERP: the subscriber in the sender
        Assert.Equal(["rob@remote.test"], remote.Recipients);
        Assert.Contains("List-Id: \"Team\" <team.hosted.test>", Encoding.UTF8.GetString(remote.Data));
        Assert.Single(Lines(server, "list post id="), l => l.Contains("number=1 subscribers=3", StringComparison.Ordinal));

        // The next post is number 2; the archive holds both as they arrived.
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "[team] more plans");
        await sink.WaitForAsync(2);
        await SettleAsync(server);
        var second = Parse(sink.Received.ElementAt(1));
        Assert.Equal("[team] more plans", second.Subject); // the prefix is not doubled
        Assert.Equal("2", second.Headers["X-Mailward-List-Number"]);
        Assert.Equal("team-return-2-rob=remote.test@hosted.test", sink.Received.ElementAt(1).Sender);
        Assert.Equal("2", (await CliAsync(server, "list", "info", "team@hosted.test")).Split('\n').Single(l => l.StartsWith("last post: ", StringComparison.Ordinal))[11..]);
        var archived = Directory.GetFiles(Path.Combine(server.DataPath, "domains"), "1", SearchOption.AllDirectories)
            .Single(f => f.Contains("/.lists/team/archive/", StringComparison.Ordinal));
        Assert.StartsWith("mailward-list-post 1\nnumber: 1\n", File.ReadAllText(archived));
        Assert.Contains("Subject: plans\r\n", File.ReadAllText(archived));
    }

    [Fact]
    public async Task A_bounce_of_a_copy_comes_back_to_its_verp_address()
    {
        await using var sink = new TestMta { RcptReply = r => r.Contains("rob@", StringComparison.Ordinal) ? "550 5.1.1 no such user" : "250 ok" };
        await using var server = await WithListAsync(sink);
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "plans");
        await SettleAsync(server);
        // The DSN went to team-return-1-rob=remote.test@hosted.test: the list names post and subscriber without parsing it.
        Assert.Single(Lines(server, "list bounce "), l => l.EndsWith("number=1 subscriber=<rob@remote.test>", StringComparison.Ordinal));
        Assert.Single(Lines(server, "list post id="));
    }

    [Fact]
    public async Task Subscribers_only_refuses_a_stranger_and_takes_a_subscriber_and_an_allowed_address()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink, "--policy", "subscribers");
        await CliAsync(server, "list", "allow", "team@hosted.test", "add", "guest@remote.test");
        await SendAsync(server, "stranger@remote.test", "team@hosted.test", "spam");
        await sink.WaitForAsync(1); // the stranger's DSN
        await SettleAsync(server);
        Assert.Empty(Mail(server, "joe@hosted.test"));
        var dsn = Assert.Single(sink.Received);
        Assert.Equal(["stranger@remote.test"], dsn.Recipients);
        Assert.Contains("only subscribers may post", Encoding.UTF8.GetString(dsn.Data));

        await SendAsync(server, "rob@remote.test", "team@hosted.test", "from a subscriber");
        await SendAsync(server, "guest@remote.test", "team@hosted.test", "from an allowed address");
        // The From: counts as well as the envelope sender (ezmlm checks both).
        await SendAsync(server, "bounces@lists.remote.test", "team@hosted.test", "via a forwarder", from: "Rob <rob@remote.test>");
        await SettleAsync(server);
        Assert.Equal(["from a subscriber", "from an allowed address", "via a forwarder"], Mail(server, "joe@hosted.test").Select(m => m.Subject!).Order().ToArray()[..]
            .OrderBy(x => x switch { "from a subscriber" => 0, "from an allowed address" => 1, _ => 2 }));
    }

    [Fact]
    public async Task Announce_takes_only_the_moderators_and_says_so_in_list_post()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink, "--policy", "announce");
        await CliAsync(server, "list", "moderators", "team@hosted.test", "add", "mod@hosted.test");
        await SendAsync(server, "rob@remote.test", "team@hosted.test", "not allowed");
        await SendAsync(server, "mod@hosted.test", "team@hosted.test", "news");
        await SettleAsync(server);
        var copy = Assert.Single(Mail(server, "joe@hosted.test"));
        Assert.Equal("news", copy.Subject);
        Assert.Equal("NO", copy.Headers["List-Post"]);
        Assert.Single(Lines(server, "list post refused "), l => l.Contains("only the moderators", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_deny_set_the_size_limit_and_the_loop_guard_refuse()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink, "--max-bytes", "2000");
        await CliAsync(server, "list", "deny", "team@hosted.test", "add", "pest@remote.test");
        await SendAsync(server, "pest@remote.test", "team@hosted.test", "denied");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "too big", body: new string('x', 3000) + "\r\n");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "looped", "List-Id: Team <team.hosted.test>");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "other list's copy", "List-Id: <other.remote.test>");
        await SettleAsync(server);
        Assert.Equal(["other list's copy"], Mail(server, "joe@hosted.test").Select(m => m.Subject));
        var refused = Lines(server, "list post refused ").ToList();
        Assert.Equal(3, refused.Count);
        Assert.Contains(refused, l => l.Contains("may not post", StringComparison.Ordinal));
        Assert.Contains(refused, l => l.Contains("larger than the list takes", StringComparison.Ordinal));
        Assert.Contains(refused, l => l.Contains("a loop", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_copy_that_comes_back_to_the_list_is_refused_as_a_loop()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "list", "add", "team@hosted.test");
        // The list subscribed to itself: its copy comes back and goes no further.
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "team@hosted.test", "joe@hosted.test");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "once");
        await SettleAsync(server);
        Assert.Single(Mail(server, "joe@hosted.test"));
        Assert.Single(Lines(server, "list post id="), l => l.Contains("number=1", StringComparison.Ordinal));
        Assert.Single(Lines(server, "list post refused "), l => l.Contains("a loop", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_from_rewrite_always_puts_the_list_in_from_and_the_poster_in_reply_to()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink, "--from-rewrite", "always", "--trailer", "Leave: team-unsubscribe@hosted.test");
        await SendAsync(server, "bob@remote.test", "team@hosted.test", "hi", from: "Bob Smith <bob@remote.test>");
        await SettleAsync(server);
        var copy = Assert.Single(Mail(server, "joe@hosted.test"));
        var from = copy.From.Mailboxes.Single();
        Assert.Equal("team@hosted.test", from.Address);
        Assert.Equal("Bob Smith via Team", from.Name);
        Assert.Equal("bob@remote.test", copy.ReplyTo.Mailboxes.Single().Address);
        Assert.EndsWith("-- \nLeave: team-unsubscribe@hosted.test\n", copy.TextBody!.ReplaceLineEndings("\n"));

        // never (the default) leaves From alone.
        await CliAsync(server, "list", "set", "team@hosted.test", "--from-rewrite", "never");
        await SendAsync(server, "bob@remote.test", "team@hosted.test", "hi again", from: "Bob Smith <bob@remote.test>");
        await SettleAsync(server);
        Assert.Contains(Mail(server, "joe@hosted.test"), m => m.Subject == "hi again" && m.From.Mailboxes.Single().Address == "bob@remote.test");
    }

    [Fact]
    public async Task Get_n_answers_with_the_post_as_it_arrived()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink, "--prefix", "[team]");
        await SendAsync(server, "friend@remote.test", "team@hosted.test", "archived");
        await SettleAsync(server);
        var before = sink.Received.Count; // rob's copy
        await SendAsync(server, "asker@remote.test", "team-get.1@hosted.test", "get");
        await SendAsync(server, "asker@remote.test", "team-get.7@hosted.test", "get");
        await sink.WaitForAsync(before + 2);
        await SettleAsync(server);
        var answers = sink.Received.Skip(before).Select(Parse).ToList();
        var got = answers.Single(a => a.Subject == "post 1 of team@hosted.test");
        var attached = Assert.IsType<MimeKit.MessagePart>(got.Attachments.Concat(got.BodyParts).OfType<MimeKit.MessagePart>().First());
        Assert.Equal("archived", attached.Message!.Subject); // as it arrived: no prefix, no list fields
        Assert.Null(attached.Message!.Headers["List-Id"]);
        Assert.Contains(answers, a => a.Subject == "no post 7 in team@hosted.test");
    }

    [Fact]
    public async Task An_unknown_address_at_the_domain_is_still_refused_at_rcpt()
    {
        await using var sink = new TestMta();
        await using var server = await WithListAsync(sink);
        await using var talk = await SmtpTalk.OpenAsync(server, "127.0.0.1");
        Assert.StartsWith("250", await talk.SendAsync("MAIL FROM:<a@remote.test>"));
        Assert.StartsWith("250", await talk.SendAsync("RCPT TO:<team-anything@hosted.test>"));
        Assert.StartsWith("550", await talk.SendAsync("RCPT TO:<teamx@hosted.test>"));
        Assert.StartsWith("550", await talk.SendAsync("RCPT TO:<nosuch-subscribe@hosted.test>"));
    }
}
