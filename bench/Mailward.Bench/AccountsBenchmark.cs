// The account-store benchmark of the foundation issue and issue 14: on SQLite and (with --postgres)
// on PostgreSQL, adds users with ready-made hashes (what `vadduser -e` does) across many domains,
// and at each checkpoint (1,000 to 1,000,000 users) measures the lookups the server makes on every
// RCPT and login, with and without the in-process cache. Reports adds/s, lookups/s and p50/p99
// latency; the goal is lookups flat (within 2x) as users grow. --bulk fills most users straight into
// the users table (one prepared transaction on SQLite, COPY on PostgreSQL) and adds only a sample
// through the normal path at each checkpoint, whose rate is the adds/s reported.
using System.Diagnostics;
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Cache;
using Mailward.Core.Accounts.Postgres;
using Mailward.Core.Admin;
using Mailward.Core.Configuration;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Mailward.Bench;

internal static class AccountsBenchmark
{
    private static readonly (string Name, int CacheEntries, int HotSet)[] Paths =
    [
        ("no cache, all users", 0, 0),
        ("cached, all users", 1_000_000, 0),
        ("cached, 1,000 hot users", 1_000_000, 1_000),
    ];

    private sealed record Options(int Users, int Domains, int Lookups, int Commands, string? Data, string? Postgres, int[] Checkpoints, bool Bulk, int AddSample, bool PostgresOnly);

    /// <summary>One provider under test: how to open it, and how to load rows past its normal add path.</summary>
    private sealed record Provider(string Name, Func<IAccountStore> Open, Action<IReadOnlyList<(string Local, string Domain)>, string> BulkLoad,
        Action<IReadOnlyList<string>> BulkDomains);

    public static int Run(string[] args)
    {
        var o = Parse(args);
        var data = o.Data ?? Path.Combine(Path.GetTempPath(), "mailward-bench-accounts-" + Environment.ProcessId);
        var hash = PasswordHasher.Default.Hash("bench-password"); // one real Argon2id hash, stored for every user as vadduser -e would

        Console.WriteLine($"# accounts benchmark: {o.Users:N0} users across {o.Domains:N0} domains, {o.Lookups:N0} lookups per measurement" +
            (o.Bulk ? $", bulk fill with {o.AddSample:N0} normal adds per checkpoint" : ", every user through the normal add"));
        Console.WriteLine($"# data folder {data}; {Environment.ProcessorCount} cores; {DateTime.UtcNow:u}");

        var sqliteFolder = Fresh(Path.Combine(data, "sqlite"));
        var sqlite = sqliteFolder.Settings.AccountsConnectionString;
        if (!o.PostgresOnly)
            RunProvider(o, hash, new Provider("SQLite", () => new SqliteAccountStore(sqlite), (rows, h) => BulkSqlite(sqlite, rows, h),
                names => BulkDomains(new SqliteConnection(sqlite), names, "$")), sqliteFolder);
        if (o.Postgres is { } pg)
            RunProvider(o, hash, new Provider("PostgreSQL", () => new PostgresAccountStore(pg), (rows, h) => BulkPostgres(pg, rows, h),
                names => BulkDomains(new NpgsqlConnection(pg), names, "@")), Fresh(Path.Combine(data, "postgres")));

        Console.WriteLine();
        Console.WriteLine("A lookup is the RCPT path: the user, and the alias when there is no user (10% of keys miss).");
        Console.WriteLine("'all users': keys uniform over every user; '1,000 hot users': the same number of distinct users at every size.");
        Console.WriteLine("Logins do the same lookup plus one Argon2id verification (not measured here; cached by the login services).");

        if (o.Commands > 0)
            MeasureCommands(Path.Combine(data, "sqlite"), "d00000.bench.test", hash, o.Commands);
        return 0;
    }

    private static DataFolder Fresh(string path)
    {
        if (Directory.Exists(path))
            Directory.Delete(path, recursive: true);
        return DataFolder.Open(path);
    }

    private static void RunProvider(Options o, string hash, Provider provider, DataFolder folder)
    {
        using var writer = provider.Open();
        var admin = new AccountAdmin(writer, new MailStoreLayout(folder.Settings.MailStorePath, folder.Settings.MaxDirectoryEntries), PasswordHasher.Default);
        Console.WriteLine();
        Console.WriteLine($"## {provider.Name}");
        Console.WriteLine();

        var sw = Stopwatch.StartNew();
        var domains = Enumerable.Range(0, o.Domains).Select(i => $"d{i:D5}.bench.test").ToArray();
        var normal = o.Bulk ? Math.Min(o.Domains, 100) : o.Domains;
        foreach (var d in domains[..normal])
            admin.AddDomainAsync(Actor.System, d, new PasswordInput.Hashed(hash)).GetAwaiter().GetResult();
        Console.WriteLine($"domains added: {normal:N0} in {sw.Elapsed.TotalSeconds:F1} s = {normal / sw.Elapsed.TotalSeconds:N0} domains/s (each with its postmaster)");
        if (normal < o.Domains)
        {
            sw.Restart();
            provider.BulkDomains(domains[normal..]);
            Console.WriteLine($"domains bulk-loaded (rows only, no postmaster or folders): {o.Domains - normal:N0} in {sw.Elapsed.TotalSeconds:F1} s");
        }
        Console.WriteLine();

        Console.WriteLine("| users | provider | adds/s (normal path) | bulk fill s | path | lookups/s (1 thread) | p50 µs | p99 µs | lookups/s (2 threads) |");
        Console.WriteLine("|---:|---|---:|---:|---|---:|---:|---:|---:|");
        (string, string) Key(int n) => ($"u{n:D7}", domains[n % domains.Length]);
        var added = 0;
        foreach (var checkpoint in o.Checkpoints.Where(c => c <= o.Users).Append(o.Users).Distinct())
        {
            var fill = TimeSpan.Zero;
            if (o.Bulk && checkpoint - o.AddSample > added)
            {
                var bulk = Stopwatch.StartNew();
                provider.BulkLoad([.. Enumerable.Range(added, checkpoint - o.AddSample - added).Select(Key)], hash);
                fill = bulk.Elapsed;
                added = checkpoint - o.AddSample;
            }
            var phase = Stopwatch.StartNew();
            var start = added;
            for (; added < checkpoint; added++)
            {
                var (local, domain) = Key(added);
                admin.AddUserAsync(Actor.System, $"{local}@{domain}", new PasswordInput.Hashed(hash)).GetAwaiter().GetResult();
            }
            var addsPerSecond = (added - start) / phase.Elapsed.TotalSeconds;

            foreach (var (name, cacheEntries, hotSet) in Paths)
            {
                using var store = provider.Open();
                using var directory = CachedAccountDirectory.Over(store, AccountCacheOptions.Default with { MaxEntries = cacheEntries, MaxMisses = cacheEntries });
                var keys = Keys(added, domains, o.Lookups, seed: checkpoint, hotSet);
                if (cacheEntries > 0)
                    Measure(directory, keys, collect: false); // warm up the cache with the same keys
                else
                    Measure(directory, keys[..Math.Min(2000, keys.Length)], collect: false); // warm up the JIT and the page cache
                var (perSecond, p50, p99) = Measure(directory, keys, collect: true);
                var parallel = MeasureParallel(directory, keys, threads: 2);
                Console.WriteLine($"| {added:N0} | {provider.Name} | {addsPerSecond:N0} | {(fill == TimeSpan.Zero ? "" : fill.TotalSeconds.ToString("F1"))} | {name} | {perSecond:N0} | {p50:F1} | {p99:F1} | {parallel:N0} |");
            }
        }
    }

    /// <summary>SQLite: one transaction of one prepared INSERT (the search index's triggers run as for any add), then the domains' counts.</summary>
    private static void BulkSqlite(string connection, IReadOnlyList<(string Local, string Domain)> rows, string hash)
    {
        using var c = new SqliteConnection(connection);
        c.Open();
        var ids = DomainIds(c);
        using var tx = c.BeginTransaction();
        using var insert = c.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = "INSERT INTO users(domain_id, local, password_hash, dir, created_at) VALUES ($d, $l, $h, $dir, $now)";
        var (d, l, h, dir, now) = (insert.Parameters.Add("$d", SqliteType.Integer), insert.Parameters.Add("$l", SqliteType.Text),
            insert.Parameters.Add("$h", SqliteType.Text), insert.Parameters.Add("$dir", SqliteType.Text), insert.Parameters.Add("$now", SqliteType.Integer));
        insert.Prepare();
        h.Value = hash;
        now.Value = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        foreach (var (local, domain) in rows)
        {
            (d.Value, l.Value, dir.Value) = (ids[domain], local, $"{domain}/{local}");
            insert.ExecuteNonQuery();
        }
        using (var count = c.CreateCommand())
        {
            count.Transaction = tx;
            count.CommandText = "UPDATE domains SET user_count = (SELECT COUNT(*) FROM users WHERE users.domain_id = domains.id)";
            count.ExecuteNonQuery();
        }
        tx.Commit();
    }

    /// <summary>PostgreSQL: COPY into users in one transaction, the domains' counts, then VACUUM (ANALYZE).</summary>
    private static void BulkPostgres(string connection, IReadOnlyList<(string Local, string Domain)> rows, string hash)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        var ids = DomainIds(c);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        using (var tx = c.BeginTransaction())
        {
            using (var copy = c.BeginTextImport("COPY users(domain_id, local, password_hash, dir, created_at) FROM STDIN"))
                foreach (var (local, domain) in rows)
                    copy.Write($"{ids[domain]}\t{local}\t{hash}\t{domain}/{local}\t{now}\n");
            using (var count = new NpgsqlCommand("UPDATE domains SET user_count = (SELECT COUNT(*) FROM users WHERE users.domain_id = domains.id)", c, tx))
                count.ExecuteNonQuery();
            tx.Commit();
        }
        // As after any bulk load: the planner's statistics, and the rows' hint bits and visibility map
        // set now rather than by the first lookups (each of which would otherwise dirty its page).
        using var vacuum = new NpgsqlCommand("VACUUM (ANALYZE) users", c);
        vacuum.ExecuteNonQuery();
    }

    /// <summary>Domain rows in one transaction of one prepared INSERT (the rest of a domain's columns take their defaults).</summary>
    private static void BulkDomains(System.Data.Common.DbConnection connection, IReadOnlyList<string> names, string prefix)
    {
        using var c = connection;
        c.Open();
        using var tx = c.BeginTransaction();
        using var insert = c.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = $"INSERT INTO domains(name, dir, created_at) VALUES ({prefix}n, {prefix}n, {prefix}now)";
        var n = insert.CreateParameter();
        n.ParameterName = prefix + "n";
        var now = insert.CreateParameter();
        now.ParameterName = prefix + "now";
        now.Value = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        insert.Parameters.Add(n);
        insert.Parameters.Add(now);
        foreach (var name in names)
        {
            n.Value = name;
            insert.ExecuteNonQuery();
        }
        tx.Commit();
    }

    private static Dictionary<string, long> DomainIds(System.Data.Common.DbConnection c)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT id, name FROM domains";
        using var r = cmd.ExecuteReader();
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        while (r.Read())
            ids[r.GetString(1)] = r.GetInt64(0);
        return ids;
    }

    /// <summary>
    /// Uniform keys over every user, or over a fixed hot set of users: the second separates the
    /// cost of a larger store from the cost of a larger working set (which CPU caches decide).
    /// </summary>
    private static (string Local, string Domain)[] Keys(int users, string[] domains, int count, int seed, int hotSet)
    {
        var rng = new Random(seed);
        var keys = new (string, string)[count];
        for (var i = 0; i < count; i++)
        {
            var n = hotSet > 0 ? rng.Next(hotSet) * (users / hotSet) : rng.Next(users);
            keys[i] = rng.Next(10) == 0
                ? ($"missing{n:D7}", domains[n % domains.Length])
                : ($"u{n:D7}", domains[n % domains.Length]);
        }
        return keys;
    }

    /// <summary>The server's lookups as the server makes them; SQLite and cache hits complete synchronously.</summary>
    private static bool Lookup(IAccountDirectory store, (string Local, string Domain) k) =>
        Wait(store.FindUserAsync(k.Local, k.Domain)) is not null || Wait(store.FindAliasAsync(k.Local, k.Domain)) is not null;

    private static T Wait<T>(ValueTask<T> pending) => pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();

    private static (double PerSecond, double P50, double P99) Measure(IAccountDirectory store, (string, string)[] keys, bool collect)
    {
        var ticks = new long[keys.Length];
        var total = Stopwatch.StartNew();
        var found = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            if (Lookup(store, keys[i]))
                found++;
            ticks[i] = Stopwatch.GetTimestamp() - t0;
        }
        var elapsed = total.Elapsed.TotalSeconds;
        if (!collect)
            return default;
        if (found < keys.Length * 0.8)
            throw new InvalidOperationException($"only {found} of {keys.Length} lookups found a user: the benchmark is broken");
        Array.Sort(ticks);
        double Micro(long t) => t * 1_000_000.0 / Stopwatch.Frequency;
        return (keys.Length / elapsed, Micro(ticks[ticks.Length / 2]), Micro(ticks[(int)(ticks.Length * 0.99)]));
    }

    private static double MeasureParallel(IAccountDirectory store, (string, string)[] keys, int threads)
    {
        var sw = Stopwatch.StartNew();
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            for (var i = t; i < keys.Length; i += threads)
                Lookup(store, keys[i]);
        });
        return keys.Length / sw.Elapsed.TotalSeconds;
    }

    /// <summary>`mailward vadduser -e` as a script runs it: one process per user.</summary>
    private static void MeasureCommands(string data, string domain, string hash, int count)
    {
        var exe = Path.Combine(AppContext.BaseDirectory, "mailward");
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            using var p = Process.Start(new ProcessStartInfo(exe, ["--data", data, "vadduser", "-e", hash, $"cmd{i:D5}@{domain}"])
            { RedirectStandardOutput = true, RedirectStandardError = true })!;
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"vadduser failed: {p.StandardError.ReadToEnd()}");
        }
        Console.WriteLine();
        Console.WriteLine($"`mailward vadduser -e` as separate processes: {count} in {sw.Elapsed.TotalSeconds:F1} s = {count / sw.Elapsed.TotalSeconds:F1} users/s ({sw.Elapsed.TotalMilliseconds / count:F0} ms each, mostly process start)");
    }

    private static Options Parse(string[] args)
    {
        int users = 100_000, domains = 1_000, lookups = 200_000, commands = 50, addSample = 2_000;
        string? data = null, postgres = null;
        int[] checkpoints = [1_000, 10_000, 100_000];
        bool bulk = false, postgresOnly = false;
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--users": users = int.Parse(Next()); break;
                case "--domains": domains = int.Parse(Next()); break;
                case "--lookups": lookups = int.Parse(Next()); break;
                case "--commands": commands = int.Parse(Next()); break;
                case "--data": data = Next(); break;
                case "--postgres": postgres = Next(); break;
                case "--checkpoints": checkpoints = [.. Next().Split(',').Select(int.Parse)]; break;
                case "--bulk": bulk = true; break;
                case "--postgres-only": postgresOnly = true; break;
                case "--add-sample": addSample = int.Parse(Next()); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        return new Options(users, domains, lookups, commands, data, postgres, checkpoints, bulk, addSample, postgresOnly);
    }
}
