// A throwaway PostgreSQL cluster for the tests that run against both account providers: started
// once per test run from Debian's binaries (initdb + pg_ctl in a temp folder, reached only through
// a Unix socket in that folder, as the postgres user when the tests run as root), stopped and
// removed when the run ends (and, when the test host was ended before the removal finished, by a
// later run). Each test class takes a fresh database of its own. A fault test that stops and starts
// PostgreSQL takes a private cluster of its own (StartPrivate), never the shared one.
using System.Diagnostics;
using Npgsql;

namespace Mailward.Tests.Support;

public static class PostgresServer
{
    private const string User = "mailward";

    private static readonly Lazy<string?> BinFolder = new(FindBinaries);
    private static readonly Lazy<Cluster> Running = new(Cluster.Start);
    private static readonly Lazy<bool> LeftoversRemoved = new(() =>
    {
        RemoveLeftovers(Path.GetTempPath(), TimeSpan.FromMinutes(30));
        return true;
    });

    /// <summary>
    /// Removes the folders of clusters earlier runs left behind: the shared cluster is removed at the
    /// process's exit, and the test host does not always live through deleting its 130 MB (one
    /// folder was left per run). Only a folder older than <paramref name="minAge"/> whose server is
    /// not running: a cluster another run is making or using is never touched.
    /// </summary>
    internal static void RemoveLeftovers(string folder, TimeSpan minAge)
    {
        foreach (var dir in Directory.EnumerateDirectories(folder, "mailward-pg-*"))
        {
            try
            {
                if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) < minAge || ServerRuns(dir))
                    continue;
                Directory.Delete(dir, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // another run's, or already gone: left as it is
            }
        }
    }

    /// <summary>True when the folder's postmaster.pid names a live process.</summary>
    private static bool ServerRuns(string dir)
    {
        var pidFile = Path.Combine(dir, "data", "postmaster.pid");
        if (!File.Exists(pidFile))
            return false;
        var first = File.ReadLines(pidFile).FirstOrDefault();
        return first is null || !int.TryParse(first, out var pid) || Directory.Exists($"/proc/{pid}");
    }

    /// <summary>Why PostgreSQL cannot be had here (the tests that need it are skipped), or null.</summary>
    public static string? Unavailable =>
        BinFolder.Value is null ? "PostgreSQL is not installed (apt-get install postgresql; .ci/run does)"
        : Environment.IsPrivilegedProcess && !File.Exists("/usr/sbin/runuser") ? "the tests run as root and runuser is missing to start PostgreSQL as the postgres user"
        : null;

    /// <summary>A new, empty database on the run's cluster; its connection string.</summary>
    public static string CreateDatabase()
    {
        var cluster = Running.Value;
        var name = "t_" + Guid.NewGuid().ToString("N")[..16];
        using (var c = new NpgsqlConnection(cluster.ConnectionString("postgres")))
        {
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            cmd.ExecuteNonQuery();
        }
        return cluster.ConnectionString(name);
    }

    /// <summary>A cluster of the caller's own, to stop and start (fault tests); removed when disposed.</summary>
    public static Cluster StartPrivate() => Cluster.Start();

    /// <summary>Removes a database made by CreateDatabase (its clients closed first).</summary>
    public static void DropDatabase(string connectionString)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database;
        NpgsqlConnection.ClearAllPools();
        using var c = new NpgsqlConnection(Running.Value.ConnectionString("postgres"));
        c.Open();
        using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS {name} WITH (FORCE)", c);
        cmd.ExecuteNonQuery();
    }

    /// <summary>The newest /usr/lib/postgresql/N/bin with initdb and pg_ctl, else the folder of initdb on PATH.</summary>
    private static string? FindBinaries()
    {
        var debian = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => (Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0, Bin: Path.Combine(d, "bin")))
                .Where(x => File.Exists(Path.Combine(x.Bin, "initdb")) && File.Exists(Path.Combine(x.Bin, "pg_ctl")))
                .OrderByDescending(x => x.Version).Select(x => x.Bin).FirstOrDefault()
            : null;
        return debian ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")));
    }

    public sealed class Cluster : IDisposable
    {
        private readonly string _root;
        private readonly string _bin;

        private Cluster(string root, string bin)
        {
            _root = root;
            _bin = bin;
        }

        private string Socket => Path.Combine(_root, "s");
        private string Data => Path.Combine(_root, "data");

        public string ConnectionString(string database) =>
            new NpgsqlConnectionStringBuilder { Host = Socket, Username = User, Database = database, Timeout = 30, CommandTimeout = 60 }.ToString();

        /// <summary>A new, empty database on this cluster; its connection string.</summary>
        public string CreateDatabase()
        {
            var name = "t_" + Guid.NewGuid().ToString("N")[..16];
            using var c = new NpgsqlConnection(ConnectionString("postgres"));
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE {name}", c);
            cmd.ExecuteNonQuery();
            return ConnectionString(name);
        }

        /// <summary>Stops the server as an operator's restart does (pg_ctl -m fast: clients are disconnected).</summary>
        public void Halt() => Tool("pg_ctl", ["-D", Data, "-m", "fast", "-w", "-t", "60", "stop"]);

        /// <summary>Starts the server (again).</summary>
        public void Resume() => Tool("pg_ctl", ["-D", Data, "-l", Path.Combine(_root, "log"), "-w", "-t", "60", "-o",
            $"-c listen_addresses='' -c unix_socket_directories='{Socket}' -c fsync=off -c full_page_writes=off -c max_connections=300",
            "start"]);

        public void Dispose() => Stop();

        public static Cluster Start()
        {
            if (Unavailable is { } why)
                throw new InvalidOperationException(why);
            _ = LeftoversRemoved.Value;
            // Its own folder under /tmp (world-searchable), so the postgres user can reach it when we are root.
            var root = Path.Combine(Path.GetTempPath(), "mailward-pg-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(root);
            Directory.CreateDirectory(Path.Combine(root, "s"));
            var cluster = new Cluster(root, BinFolder.Value!);
            if (Environment.IsPrivilegedProcess)
                Run("chown", ["-R", "postgres:postgres", root], asPostgres: false);
            // Durability is not under test here: no fsync makes a cluster and its databases quick to make.
            cluster.Tool("initdb", ["-D", cluster.Data, "-A", "trust", "-U", User, "-E", "UTF8", "--locale=C", "--no-sync"]);
            cluster.Resume();
            // A private cluster is removed by its test as well; this is the net for one that never got there.
            AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();
            return cluster;
        }

        private void Stop()
        {
            try
            {
                Tool("pg_ctl", ["-D", Data, "-m", "immediate", "-w", "stop"]);
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        private void Tool(string name, string[] args) => Run(Path.Combine(_bin, name), args, Environment.IsPrivilegedProcess);

        private static void Run(string program, string[] args, bool asPostgres)
        {
            var psi = new ProcessStartInfo(asPostgres ? "/usr/sbin/runuser" : program)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = Path.GetTempPath(),
            };
            if (asPostgres)
                foreach (var a in (string[])["-u", "postgres", "--", program])
                    psi.ArgumentList.Add(a);
            foreach (var a in args)
                psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            // pg_ctl's server keeps the pipes open: read what the tool wrote without waiting for EOF.
            var err = p.StandardError.ReadToEndAsync();
            var output = p.StandardOutput.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(120)))
                throw new InvalidOperationException($"{program} did not finish");
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({p.ExitCode}): {(err.IsCompleted ? err.Result : "")}{(output.IsCompleted ? output.Result : "")}");
        }
    }
}
