// 1,000 users in one domain through the real commands: no folder of the mail store holds more
// than MailStore:MaxDirectoryEntries entries, and every user's Maildir is where its record says.
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class HashedTreeTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    [Fact]
    public async Task A_thousand_users_never_crowd_a_folder()
    {
        (await _m.Run("vadddomain", "big.test", "pw")).Ok();
        for (var i = 0; i < 1000; i++)
            (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", $"user{i:D4}@big.test")).Ok();

        var domainFolder = Path.Combine(_m.MailStore, "big.test");
        var folders = Directory.GetDirectories(domainFolder, "*", SearchOption.AllDirectories).Append(domainFolder).ToList();
        var worst = folders.Max(f => Directory.GetFileSystemEntries(f).Length);
        Assert.True(worst <= 100, $"a folder holds {worst} entries");
        Assert.Contains(folders, f => Path.GetFileName(f).StartsWith('+')); // the tree did spill

        var users = _m.Store.ListUsers(_m.Store.FindDomain("big.test")!.Id);
        Assert.Equal(1001, users.Count);
        Assert.All(users, u => Assert.True(Directory.Exists(Path.Combine(_m.MailStore, u.Directory, "Maildir", "new")), u.Directory));
        Assert.Equal(1001, users.Select(u => u.Directory).Distinct().Count());
    }
}
