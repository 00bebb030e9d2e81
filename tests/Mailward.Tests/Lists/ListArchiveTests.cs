// The archive by mail over real sockets (docs/lists.md, "The archive by mail"): -get.N_M attaches
// the posts as they arrived, bounded by Lists:MaxGetPosts; -index lists the posts, bounded the same.
using Mailward.Tests.Support;
using MimeKit;
using static Mailward.Tests.Lists.ListTestMail;

namespace Mailward.Tests.Lists;

public class ListArchiveTests
{
    /// <summary>A list with subscriber joe and posts "one" to "four" in its archive, Lists:MaxGetPosts = 3.</summary>
    private static async Task<Smtp.ServerFixture> ArchiveOfFourAsync(TestMta sink)
    {
        var server = await Smtp.ServerFixture.StartAsync(Users, (TimeProvider?)null, "--Delivery:Enabled=true", $"--Remote:Routes:remote.test={sink.Endpoint}",
            "--Lists:MaxGetPosts=3");
        await CliAsync(server, "list", "add", "team@hosted.test", "--prefix", "[team]");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test");
        foreach (var subject in new[] { "one", "two", "three", "four" })
        {
            // One at a time: posts delivered together take their numbers in any order.
            await SendAsync(server, "friend@remote.test", "team@hosted.test", subject);
            await SettleAsync(server);
        }
        return server;
    }

    private static async Task<MimeMessage> AskAsync(Smtp.ServerFixture server, TestMta sink, string address)
    {
        var before = sink.Received.Count;
        await SendAsync(server, "asker@remote.test", address, "please");
        await sink.WaitForAsync(before + 1);
        await SettleAsync(server);
        var answer = sink.Received.ElementAt(before);
        Assert.Equal(["asker@remote.test"], answer.Recipients);
        return Parse(answer);
    }

    private static string[] Attached(MimeMessage answer) =>
        [.. answer.BodyParts.OfType<MessagePart>().Select(p => p.Message!.Subject ?? "")];

    [Fact]
    public async Task Get_n_m_attaches_the_posts_as_they_arrived_up_to_the_bound()
    {
        await using var sink = new TestMta();
        await using var server = await ArchiveOfFourAsync(sink);

        var two = await AskAsync(server, sink, "team-get.2_3@hosted.test");
        Assert.Equal("posts 2 to 3 of team@hosted.test", two.Subject);
        Assert.Equal(["two", "three"], Attached(two)); // as they arrived: no prefix

        // 1_4 is four posts; Lists:MaxGetPosts=3 sends three and says where to go on.
        var bounded = await AskAsync(server, sink, "team-get.1_4@hosted.test");
        Assert.Equal(["one", "two", "three"], Attached(bounded));
        Assert.Contains("ask again from 4", bounded.TextBody);

        // A range past the archive sends what there is; a range with nothing says so.
        Assert.Equal(["four"], Attached(await AskAsync(server, sink, "team-get.4_9@hosted.test")));
        Assert.Equal("no post 5_9 in team@hosted.test", (await AskAsync(server, sink, "team-get.5_9@hosted.test")).Subject);
    }

    [Fact]
    public async Task Index_lists_the_last_posts_and_a_range_up_to_the_bound()
    {
        await using var sink = new TestMta();
        await using var server = await ArchiveOfFourAsync(sink);

        var last = await AskAsync(server, sink, "team-index@hosted.test");
        Assert.Equal("index of team@hosted.test", last.Subject);
        var lines = last.TextBody!.ReplaceLineEndings("\n").Split('\n');
        // The last three (Lists:MaxGetPosts): 2, 3, 4; each with its date and author on a second line.
        Assert.Equal(["2: two", "3: three", "4: four"], lines.Where(l => l.Length > 0 && char.IsAsciiDigit(l[0]) && l.Contains(": ", StringComparison.Ordinal)).ToArray());
        Assert.Equal(3, lines.Count(l => l.StartsWith('\t') && l.Contains("friend@remote.test", StringComparison.Ordinal)));

        var range = await AskAsync(server, sink, "team-index.1_2@hosted.test");
        Assert.Contains("1: one\n", range.TextBody!.ReplaceLineEndings("\n"));
        Assert.Contains("2: two\n", range.TextBody!.ReplaceLineEndings("\n"));
        Assert.DoesNotContain("3: three", range.TextBody);
    }
}
