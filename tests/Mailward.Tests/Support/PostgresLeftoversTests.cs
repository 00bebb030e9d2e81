// The test harness's own hygiene: clusters earlier runs left in the temp folder are removed, and
// nothing another run may be using (a young folder, or one whose server runs) is touched.
namespace Mailward.Tests.Support;

public sealed class PostgresLeftoversTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Cluster(string name, TimeSpan age, string? pidFile)
    {
        var root = Path.Combine(_dir.Path, name);
        Directory.CreateDirectory(Path.Combine(root, "data", "base"));
        File.WriteAllText(Path.Combine(root, "data", "base", "1"), "pages");
        if (pidFile is not null)
            File.WriteAllText(Path.Combine(root, "data", "postmaster.pid"), pidFile);
        Directory.SetLastWriteTimeUtc(root, DateTime.UtcNow - age);
        return root;
    }

    [Fact]
    public void A_stopped_cluster_left_by_an_earlier_run_is_removed()
    {
        var stopped = Cluster("mailward-pg-aaaa0001", TimeSpan.FromHours(2), pidFile: null);
        var dead = Cluster("mailward-pg-aaaa0002", TimeSpan.FromHours(2), pidFile: "999999999\n/x\n");
        PostgresServer.RemoveLeftovers(_dir.Path, TimeSpan.FromMinutes(30));
        Assert.False(Directory.Exists(stopped));
        Assert.False(Directory.Exists(dead));
    }

    [Fact]
    public void A_running_a_young_or_an_unknown_folder_is_kept()
    {
        var running = Cluster("mailward-pg-bbbb0001", TimeSpan.FromHours(2), pidFile: $"{Environment.ProcessId}\n/x\n");
        var young = Cluster("mailward-pg-bbbb0002", TimeSpan.FromMinutes(1), pidFile: null);
        var unreadable = Cluster("mailward-pg-bbbb0003", TimeSpan.FromHours(2), pidFile: "not a pid\n");
        var other = Cluster("mailward-tests-bbbb0004", TimeSpan.FromHours(2), pidFile: null);
        PostgresServer.RemoveLeftovers(_dir.Path, TimeSpan.FromMinutes(30));
        Assert.True(Directory.Exists(running));
        Assert.True(Directory.Exists(young));
        Assert.True(Directory.Exists(unreadable));
        Assert.True(Directory.Exists(other));
    }
}
