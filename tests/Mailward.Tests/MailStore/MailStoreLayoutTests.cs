// The hashed tree: deterministic node paths, and no folder over the bound however many users.
using Mailward.Core.MailStore;

namespace Mailward.Tests.MailStore;

public class MailStoreLayoutTests
{
    [Fact]
    public void First_node_is_the_domain_folder_then_the_tree_grows_breadth_first()
    {
        var layout = new MailStoreLayout("/srv", 100);
        Assert.Equal(90, layout.EntriesPerNode);
        Assert.Equal("", layout.NodePath(0));
        Assert.Equal("", layout.NodePath(89));
        Assert.Equal("+0", layout.NodePath(90));
        Assert.Equal("+9", layout.NodePath(90 * 10));
        Assert.Equal("+0/+0", layout.NodePath(90 * 11));
        Assert.Equal("example.com/+0/joe", layout.UserDirectory("example.com", "joe", 90));
    }

    [Fact]
    public void A_million_slots_stay_within_the_bound_and_shallow()
    {
        var layout = new MailStoreLayout("/srv", 100);
        var perFolder = new Dictionary<string, int>();
        for (long slot = 0; slot < 1_000_000; slot += 1)
        {
            var node = layout.NodePath(slot);
            perFolder[node] = perFolder.GetValueOrDefault(node) + 1;
        }
        Assert.All(perFolder.Values, n => Assert.True(n <= layout.EntriesPerNode));
        // Entries per folder: its users plus its subfolders.
        var subfolders = perFolder.Keys.Where(k => k.Length > 0)
            .GroupBy(k => k.Contains('/') ? k[..k.LastIndexOf('/')] : "").ToDictionary(g => g.Key, g => g.Count());
        foreach (var (node, users) in perFolder)
            Assert.True(users + subfolders.GetValueOrDefault(node) <= 100, $"{node}: {users} users");
        Assert.True(perFolder.Keys.Max(k => k.Count(c => c == '/')) <= 4);
    }
}
