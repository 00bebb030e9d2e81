// Runs mailward's command layer in-process against a real data folder (real SQLite file, real
// folders), capturing what it prints; and opens that data folder's store for assertions.
using Mailward.Cli;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;

namespace Mailward.Tests.Support;

public sealed record CliResult(int Code, string Out, string Err)
{
    public CliResult Ok()
    {
        Assert.True(Code == 0, $"exit {Code}\nstdout: {Out}\nstderr: {Err}");
        return this;
    }

    public CliResult Fails(AccountError error)
    {
        Assert.True(Code == (int)error, $"expected exit {(int)error} ({error}), got {Code}\nstdout: {Out}\nstderr: {Err}");
        return this;
    }
}

public sealed class MailwardRunner : IDisposable
{
    // Cheap Argon2 parameters keep the tests fast; the default cost is covered by its own test.
    public static readonly string[] FastHashes = ["--Passwords:Argon2MemoryKiB=64", "--Passwords:Argon2Iterations=1"];

    private readonly TempFolder _folder = new();
    private SqliteAccountStore? _store;

    public string Data => _folder.Combine("data");
    public string MailStore => Path.Combine(Data, "domains");

    public Task<CliResult> Run(params string[] args) => RunWith("", null, args);

    public Task<CliResult> RunWithInput(string stdin, params string[] args) => RunWith(stdin, null, args);

    public Task<CliResult> RunAs(string invokedAs, params string[] args) => RunWith("", invokedAs, args);

    public async Task<CliResult> RunWith(string stdin, string? invokedAs, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        string[] all = ["--data", Data, .. FastHashes, .. args];
        var code = await MailwardCli.RunAsync(all, new CliConsole(new StringReader(stdin), stdout, stderr, InputRedirected: true), invokedAs);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The same store the commands use; a store caches nothing, so every read sees the file.</summary>
    public SqliteAccountStore Store => _store ??= new SqliteAccountStore($"Data Source={Path.Combine(Data, "accounts.db")}");

    public AccountAdmin Admin(TimeProvider? time = null, IAdminAudit? audit = null) =>
        new(Store, new MailStoreLayout(MailStore, 100), new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 }), time: time, audit: audit);

    /// <summary>
    /// A login as the mail protocols make it (LoginService: upgrades a legacy hash, records the last
    /// login); the user on success, else null. A fresh service each time, so no throttle carries over.
    /// </summary>
    public async Task<UserRecord?> LoginAsync(string address, string password, string service = "t", string client = "::1")
    {
        var logins = new LoginService(Store, new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 }), new LoginOptions());
        var result = await logins.VerifyAsync(address, password, System.Net.IPAddress.Parse(client), null, service, UserFlags.None);
        return result.Succeeded ? result.User : null;
    }

    public string UserFolder(string address)
    {
        var a = Core.Addresses.MailAddress.Parse(address);
        var u = Store.FindUser(a.Local, a.Domain) ?? throw new InvalidOperationException($"no user {address}");
        return Path.IsPathRooted(u.Directory) ? u.Directory : Path.Combine(MailStore, u.Directory);
    }

    public void Dispose()
    {
        _store?.Dispose();
        _folder.Dispose();
    }
}
