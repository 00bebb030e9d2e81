// mailward list ... (docs/lists.md, "Commands") against a data folder: add refuses a user's or an
// alias's name, a bad name and a domain past its max lists; the sets; info; a damaged file is
// named, never guessed at; del removes the folder.
using Mailward.Core.Accounts;
using Mailward.Tests.Support;

namespace Mailward.Tests.Lists;

public sealed class ListCommandTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    private async Task SetUpAsync()
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("user", "add", "joe@hosted.test", "pw")).Ok();
    }

    [Fact]
    public async Task Add_info_sets_and_del()
    {
        await SetUpAsync();
        Assert.Contains("list made", (await _m.Run("list", "add", "Team@hosted.test", "--policy", "subscribers", "--prefix", "[team]")).Ok().Out);
        (await _m.Run("list", "subscribe", "team@hosted.test", "Bob@Remote.test", "amy@hosted.test", "bob@remote.test")).Ok();
        Assert.Equal("amy@hosted.test\nbob@remote.test\n", (await _m.Run("list", "subscribers", "team@hosted.test")).Ok().Out);
        (await _m.Run("list", "unsubscribe", "team@hosted.test", "amy@hosted.test")).Ok();
        (await _m.Run("list", "moderators", "team@hosted.test", "add", "joe@hosted.test")).Ok();
        Assert.Equal("joe@hosted.test\n", (await _m.Run("list", "moderators", "team@hosted.test")).Ok().Out);
        var info = (await _m.Run("list", "info", "team@hosted.test")).Ok().Out;
        Assert.Contains("policy: subscribers\n", info);
        Assert.Contains("prefix: [team]\n", info);
        Assert.Contains("subscribers: 1\n", info);
        Assert.Contains("moderators: 1\n", info);
        Assert.Equal("team@hosted.test\tsubscribers\t1\n", (await _m.Run("list", "domain", "hosted.test")).Ok().Out);
        var folder = Path.Combine(_m.MailStore, "hosted.test", ".lists", "team");
        Assert.True(File.Exists(Path.Combine(folder, "config")), "the list's folder is under its domain's");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        Assert.StartsWith("mailward-list-members 1\nbob@remote.test\nEND ", File.ReadAllText(Path.Combine(folder, "subscribers")));
        (await _m.Run("list", "del", "team@hosted.test")).Ok();
        Assert.False(Directory.Exists(folder));
        (await _m.Run("list", "info", "team@hosted.test")).Fails(AccountError.AliasNotFound);
    }

    [Fact]
    public async Task Add_refuses_a_users_name_a_bad_name_and_past_the_domains_max_lists()
    {
        await SetUpAsync();
        (await _m.Run("list", "add", "joe@hosted.test")).Fails(AccountError.UserExists);
        (await _m.Run("list", "add", "my-team@hosted.test")).Fails(AccountError.IllegalUser);
        (await _m.Run("list", "add", "team@nothosted.test")).Fails(AccountError.DomainNotFound);
        (await _m.Run("domain", "limits", "hosted.test", "--max-lists", "1")).Ok();
        (await _m.Run("list", "add", "one@hosted.test")).Ok();
        (await _m.Run("list", "add", "two@hosted.test")).Fails(AccountError.LimitReached);
        (await _m.Run("list", "add", "one@hosted.test")).Fails(AccountError.UserExists);
    }

    [Theory]
    [InlineData("config", "policy: open\n", "policy: opne\n")] // a bad value, the CRC made to match: content rules
    [InlineData("subscribers", "bob@remote.test", "bob@remote.tesx")] // a changed byte: the CRC fails
    public async Task A_damaged_file_is_named_not_guessed_at(string file, string from, string to)
    {
        await SetUpAsync();
        (await _m.Run("list", "add", "team@hosted.test")).Ok();
        (await _m.Run("list", "subscribe", "team@hosted.test", "bob@remote.test")).Ok();
        var path = Path.Combine(_m.MailStore, "hosted.test", ".lists", "team", file);
        var text = File.ReadAllText(path);
        var body = text[..text.LastIndexOf("END ", StringComparison.Ordinal)].Replace(from, to, StringComparison.Ordinal);
        if (file == "config")
            body += $"END {System.IO.Hashing.Crc32.HashToUInt32(System.Text.Encoding.UTF8.GetBytes(body)):x8}\n";
        else
            body += text[text.LastIndexOf("END ", StringComparison.Ordinal)..];
        File.WriteAllText(path, body);
        var r = (await _m.Run("list", "info", "team@hosted.test")).Fails(AccountError.StorageFailed);
        Assert.Contains(file + ": damaged list file", r.Err);
    }
}
