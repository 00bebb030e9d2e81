// The account-store benchmark of the foundation issue: adds users with ready-made hashes (what
// `vadduser -e` does) across many domains, and at 1,000, 10,000 and 100,000 users measures the
// lookups the server makes on every RCPT and login, with and without the in-process cache.
// Reports adds/s, lookups/s and p50/p99 latency; the goal is lookups flat (within 2x) as users grow.
using System.Diagnostics;
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Cache;
using Mailward.Core.Admin;
using Mailward.Core.Configuration;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;

namespace Mailward.Bench;

internal static class AccountsBenchmark
{
    private static readonly int[] Checkpoints = [1_000, 10_000, 100_000];

    private static readonly (string Name, int CacheEntries, int HotSet)[] Paths =
    [
        ("SQLite, no cache, all users", 0, 0),
        ("cached, all users", 1_000_000, 0),
        ("cached, 1,000 hot users", 1_000_000, 1_000),
    ];

    private sealed record Options(int Users, int Domains, int Lookups, int Commands, string? Data);

    public static int Run(string[] args)
    {
        var o = Parse(args);
        var data = o.Data ?? Path.Combine(Path.GetTempPath(), "mailward-bench-accounts-" + Environment.ProcessId);
        if (Directory.Exists(data))
            Directory.Delete(data, recursive: true);
        var folder = DataFolder.Open(data);
        var connection = folder.Settings.AccountsConnectionString;
        var hasher = PasswordHasher.Default;
        var hash = hasher.Hash("bench-password"); // one real Argon2id hash, stored for every user as vadduser -e would

        using var writer = new SqliteAccountStore(connection);
        var admin = new AccountAdmin(writer, new MailStoreLayout(folder.Settings.MailStorePath, folder.Settings.MaxDirectoryEntries), hasher);

        Console.WriteLine($"# accounts benchmark: {o.Users:N0} users across {o.Domains:N0} domains, {o.Lookups:N0} lookups per measurement");
        Console.WriteLine($"# data folder {data}; {Environment.ProcessorCount} cores; {DateTime.UtcNow:u}");
        Console.WriteLine();

        var sw = Stopwatch.StartNew();
        var domains = Enumerable.Range(0, o.Domains).Select(i => $"d{i:D5}.bench.test").ToArray();
        foreach (var d in domains)
            admin.AddDomainAsync(Actor.System, d, new PasswordInput.Hashed(hash)).GetAwaiter().GetResult();
        Console.WriteLine($"domains added: {o.Domains:N0} in {sw.Elapsed.TotalSeconds:F1} s = {o.Domains / sw.Elapsed.TotalSeconds:N0} domains/s (each with its postmaster)");
        Console.WriteLine();

        Console.WriteLine("| users | adds/s (phase) | path | lookups/s (1 thread) | p50 µs | p99 µs | lookups/s (2 threads) |");
        Console.WriteLine("|---:|---:|---|---:|---:|---:|---:|");
        var added = 0;
        foreach (var checkpoint in Checkpoints.Where(c => c <= o.Users).Append(o.Users).Distinct())
        {
            var phase = Stopwatch.StartNew();
            var start = added;
            for (; added < checkpoint; added++)
                admin.AddUserAsync(Actor.System, $"u{added:D7}@{domains[added % domains.Length]}", new PasswordInput.Hashed(hash)).GetAwaiter().GetResult();
            var addsPerSecond = (added - start) / phase.Elapsed.TotalSeconds;

            foreach (var (name, cacheEntries, hotSet) in Paths)
            {
                using var provider = new SqliteAccountStore(connection);
                using var store = CachedAccountDirectory.Over(provider, AccountCacheOptions.Default with { MaxEntries = cacheEntries, MaxMisses = cacheEntries });
                var keys = Keys(added, domains, o.Lookups, seed: checkpoint, hotSet);
                if (cacheEntries > 0)
                    Measure(store, keys, collect: false); // warm up the cache with the same keys
                else
                    Measure(store, keys[..Math.Min(2000, keys.Length)], collect: false); // warm up the JIT and the page cache
                var (perSecond, p50, p99) = Measure(store, keys, collect: true);
                var parallel = MeasureParallel(store, keys, threads: 2);
                Console.WriteLine($"| {added:N0} | {addsPerSecond:N0} | {name} | {perSecond:N0} | {p50:F1} | {p99:F1} | {parallel:N0} |");
            }
        }
        Console.WriteLine();
        Console.WriteLine("A lookup is the RCPT path: the user, and the alias when there is no user (10% of keys miss).");
        Console.WriteLine("'all users': keys uniform over every user; '1,000 hot users': the same number of distinct users at every size.");
        Console.WriteLine("Logins do the same lookup plus one Argon2id verification (not measured here; cached by the login services).");

        if (o.Commands > 0)
            MeasureCommands(data, domains[0], hash, o.Commands);
        return 0;
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
        int users = 100_000, domains = 1_000, lookups = 200_000, commands = 50;
        string? data = null;
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
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        return new Options(users, domains, lookups, commands, data);
    }
}
