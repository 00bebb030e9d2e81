// `mailward list import DIR` (docs/lists.md, "Importing an ezmlm list"): an ezmlm-idx list
// directory made by the test (hashed subscriber files of 'T' ADDRESS NUL records, mod/, allow/,
// deny/, digest/, text/trailer, flags, prefix, msgsize, num, archive/B/NN) becomes a list with its
// members and settings; a post over a real socket then takes the next number after ezmlm's.
using System.Text;
using Mailward.Tests.Support;
using static Mailward.Tests.Lists.ListTestMail;

namespace Mailward.Tests.Lists;

public sealed class ListImportTests : IDisposable
{
    private readonly TempFolder _tmp = new();

    public void Dispose() => _tmp.Dispose();

    private static void Write(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, Encoding.UTF8.GetBytes(text));
    }

    /// <summary>What ezmlm-make and a few months of ezmlm-idx would leave (ezmlm's file formats, written by hand).</summary>
    private string EzmlmList()
    {
        var dir = _tmp.Combine("ezmlm-team");
        Write(Path.Combine(dir, "outlocal"), "team\n");
        Write(Path.Combine(dir, "outhost"), "hosted.test\n");
        // Subscribers spread over hash-named files, ezmlm's domain lower case and local part as given.
        Write(Path.Combine(dir, "subscribers", "A"), "Tjoe@hosted.test\0Trob@remote.test\0");
        Write(Path.Combine(dir, "subscribers", "k"), "TAmy@hosted.test\0Trob@remote.test\0");
        Write(Path.Combine(dir, "mod", "subscribers", "Q"), "Tmod@hosted.test\0");
        Write(Path.Combine(dir, "allow", "subscribers", "B"), "Tguest@remote.test\0");
        Write(Path.Combine(dir, "deny", "subscribers", "C"), "Tpest@remote.test\0");
        Write(Path.Combine(dir, "digest", "subscribers", "D"), "Tslow@remote.test\0");
        Write(Path.Combine(dir, "flags"), "aBDfGhiJKLmNOpQRSTUWXYZ\n"); // -m: moderated
        Write(Path.Combine(dir, "prefix"), "[team]\n");
        Write(Path.Combine(dir, "msgsize"), "30000:0\n");
        Write(Path.Combine(dir, "text", "trailer"), "Leave: team-unsubscribe@hosted.test\n");
        Write(Path.Combine(dir, "text", "help"), "ezmlm's help\n");
        Write(Path.Combine(dir, "num"), "41:12345\n");
        Write(Path.Combine(dir, "archive", "0", "41"), "From: joe@hosted.test\nSubject: the last ezmlm post\n\nhello\n");
        return dir;
    }

    [Fact]
    public async Task An_ezmlm_list_directory_imports_with_its_members_settings_and_numbers()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        var output = await CliAsync(server, "list", "import", EzmlmList());
        Assert.Contains("team@hosted.test: imported 3 subscribers, 1 moderators, 1 allow, 1 deny, 1 archived posts; last post 41", output);
        Assert.Contains("digest subscriber not imported: slow@remote.test", output);

        Assert.Equal(["amy@hosted.test", "joe@hosted.test", "rob@remote.test"], await SubscribersAsync(server));
        Assert.Equal("mod@hosted.test", (await CliAsync(server, "list", "moderators", "team@hosted.test")).Trim());
        Assert.Equal("guest@remote.test", (await CliAsync(server, "list", "allow", "team@hosted.test")).Trim());
        Assert.Equal("pest@remote.test", (await CliAsync(server, "list", "deny", "team@hosted.test")).Trim());
        var info = await CliAsync(server, "list", "info", "team@hosted.test");
        Assert.Contains("policy: moderated", info);
        Assert.Contains("prefix: [team]", info);
        Assert.Contains("max-bytes: 30000", info);
        Assert.Contains("last post: 41", info);

        // The moderator's post is number 42, with ezmlm's prefix and trailer; ezmlm's post 41 answers -get.41.
        await SendAsync(server, "mod@hosted.test", "team@hosted.test", "the first Mailward post");
        await SettleAsync(server);
        var copy = Assert.Single(Mail(server, "joe@hosted.test"));
        Assert.Equal("42", copy.Headers["X-Mailward-List-Number"]);
        Assert.Equal("[team] the first Mailward post", copy.Subject);
        Assert.EndsWith("Leave: team-unsubscribe@hosted.test\n", copy.TextBody!.ReplaceLineEndings("\n"));
        await SendAsync(server, "amy@hosted.test", "team-get.41@hosted.test", "get");
        await SettleAsync(server);
        var answer = Mail(server, "amy@hosted.test").Single(m => m.Subject == "post 41 of team@hosted.test");
        Assert.Equal("the last ezmlm post", answer.BodyParts.OfType<MimeKit.MessagePart>().Single().Message!.Subject);

        // A second import of the same list is refused: the list exists.
        using var runner = new MailwardRunner();
        var again = (await runner.RunWith("", null, ["--data", server.DataPath, "list", "import", EzmlmList()])).Fails(Mailward.Core.Accounts.AccountError.UserExists);
        Assert.Contains("is a list already", again.Err);
    }
}
