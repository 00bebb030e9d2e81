// What leaves the admin layer: no read model carries a password hash or a clear-text copy (checked
// over every public operation's return type, and by reading a real user with a clear copy kept);
// the error table is complete and keeps the README's exit statuses; the default audit writes one
// line per change.
using System.Reflection;
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Mailward.Tests.Admin;

public sealed class AdminReadModelTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public AdminReadModelTests() => Directory.CreateDirectory(_m.Data);

    public void Dispose() => _m.Dispose();

    /// <summary>Every type reachable from a public AccountAdmin method's result (tasks, lists and records unwrapped).</summary>
    private static IEnumerable<(MethodInfo Method, Type Type)> ResultTypes()
    {
        foreach (var m in typeof(AccountAdmin).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
        {
            var seen = new HashSet<Type>();
            var todo = new Stack<Type>([m.ReturnType]);
            while (todo.TryPop(out var t))
            {
                if (!seen.Add(t))
                    continue;
                yield return (m, t);
                if (t.IsGenericType)
                    foreach (var a in t.GetGenericArguments())
                        todo.Push(a);
                if (t.Namespace?.StartsWith("Mailward", StringComparison.Ordinal) == true && !t.IsEnum)
                    foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
                        todo.Push(p.PropertyType);
            }
        }
    }

    [Fact]
    public void No_result_of_the_admin_carries_a_secret_or_a_store_record()
    {
        Type[] storeRecords = [typeof(UserRecord), typeof(DomainRecord), typeof(AliasRecord), typeof(RelayRule), typeof(IpMapEntry), typeof(RoamingGrant), typeof(NewUser)];
        var results = ResultTypes().ToList();
        Assert.Contains(results, r => r.Type == typeof(UserView)); // the walk reaches the read models
        foreach (var (method, type) in results)
        {
            Assert.DoesNotContain(type, storeRecords);
            if (method.Name == nameof(AccountAdmin.GetUserSecretsAsync) || method.Name == nameof(AccountAdmin.ActorFor))
                continue;
            // GeneratedPassword is the random password made for -r, shown once to whoever asked for it; nothing stored.
            foreach (var p in type.Namespace?.StartsWith("Mailward", StringComparison.Ordinal) == true ? type.GetProperties().Where(p => p.Name != "GeneratedPassword") : [])
                Assert.False(p.PropertyType == typeof(string) && (p.Name.Contains("Password", StringComparison.OrdinalIgnoreCase) || p.Name.Contains("Hash", StringComparison.OrdinalIgnoreCase)),
                    $"{method.Name} returns {type.Name}.{p.Name}");
        }
        // The one way to a hash: only the command line may take it.
        Assert.Equal(AdminAuthorizer.Scope.CommandLine, AdminAuthorizer.Table[AdminOperation.ReadUserSecrets].Scope);
    }

    [Fact]
    public async Task Reading_a_user_with_a_clear_copy_kept_shows_neither_copy()
    {
        var admin = new AccountAdmin(_m.Store, new MailStoreLayout(_m.MailStore), new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 }),
            storeClearText: true);
        await admin.AddDomainAsync(Actor.System, "a.test", new PasswordInput.Clear("pm-Secret-1"));
        var added = await admin.AddUserAsync(Actor.System, "joe@a.test", new PasswordInput.Clear("joe-Secret-2"));
        var stored = _m.Store.FindUser("joe", "a.test")!;
        Assert.Equal("joe-Secret-2", stored.ClearPassword); // the store keeps it, as asked
        var admins = Actor.DomainAdmin("postmaster@a.test", "a.test");
        object[] seen =
        [
            added, await admin.GetUserAsync(admins, "joe@a.test"), await admin.ListUsersAsync(admins, "a.test"),
            await admin.ModifyUserAsync(admins, "joe@a.test", new UserChange { Gecos = "Joe" }),
            await admin.GetUserAsync(Actor.User("joe@a.test"), "joe@a.test"),
            await admin.AddDomainAsync(Actor.System, "b.test", new PasswordInput.Clear("pm-Secret-3")),
        ];
        foreach (var o in seen)
        {
            var json = JsonSerializer.Serialize(o);
            Assert.DoesNotContain("Secret", json, StringComparison.Ordinal);
            Assert.DoesNotContain(stored.PasswordHash, json, StringComparison.Ordinal);
            Assert.DoesNotContain("$argon2id$", json, StringComparison.Ordinal);
        }
        Assert.Equal(stored.PasswordHash, (await admin.GetUserSecretsAsync(Actor.System, "joe@a.test")).PasswordHash);
    }

    [Fact]
    public void Every_error_has_one_exit_status_http_status_and_problem_type()
    {
        Assert.Equal(Enum.GetValues<AccountError>().Order(), AccountErrorTable.Entries.Select(e => e.Error).Order());
        // The exit statuses are the README's contract: the enum's values, each distinct, never 0 or 1.
        Assert.All(AccountErrorTable.Entries, e => Assert.Equal((int)e.Error, e.ExitCode));
        Assert.Equal(AccountErrorTable.Entries.Count, AccountErrorTable.Entries.Select(e => e.ExitCode).Distinct().Count());
        Assert.Equal(AccountErrorTable.Entries.Count, AccountErrorTable.Entries.Select(e => e.ProblemName).Distinct().Count());
        Assert.All(AccountErrorTable.Entries, e => Assert.InRange(e.HttpStatus, 400, 599));
        Assert.Equal(403, AccountErrorTable.For(AccountError.Forbidden).HttpStatus);
        Assert.Equal(404, AccountErrorTable.For(AccountError.UserNotFound).HttpStatus);
        Assert.Equal("urn:mailward:problem:forbidden", AccountErrorTable.For(AccountError.Forbidden).ProblemType);
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(dir.FullName, "Mailward.sln")))
            dir = dir.Parent!;
        var readme = File.ReadAllText(Path.Combine(dir.FullName, "README.md"));
        Assert.All(AccountErrorTable.Entries, e => Assert.Contains($"`{e.ExitCode}` ", readme, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_default_audit_logs_one_line_per_change_with_actor_operation_target_and_outcome()
    {
        var lines = new List<(LogLevel Level, string Text)>();
        var admin = new AccountAdmin(_m.Store, new MailStoreLayout(_m.MailStore), new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 }),
            audit: new LoggingAdminAudit(new ListLogger(lines)));
        await admin.AddDomainAsync(Actor.System, "a.test", new PasswordInput.Clear("pw"));
        await Assert.ThrowsAsync<AccountException>(() => admin.AddDomainAsync(Actor.System, "a.test", new PasswordInput.Clear("pw")));
        await Assert.ThrowsAsync<AccountException>(() => admin.SetLimitsAsync(Actor.DomainAdmin("postmaster@a.test", "a.test"), "a.test", DomainLimits.None));
        await admin.ListDomainsAsync(Actor.System); // reads are not audited
        Assert.Equal(3, lines.Count);
        Assert.Equal((LogLevel.Information, "admin: system AddDomain a.test: Done "), lines[0]);
        Assert.StartsWith("admin: system AddDomain a.test: Failed domain already exists", lines[1].Text, StringComparison.Ordinal);
        Assert.Equal(LogLevel.Warning, lines[2].Level);
        Assert.StartsWith("admin: domain-admin postmaster@a.test (a.test) SetDomainLimits a.test: refused forbidden", lines[2].Text, StringComparison.Ordinal);
    }

    private sealed class ListLogger(List<(LogLevel, string)> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Add((logLevel, formatter(state, exception)));
    }
}
