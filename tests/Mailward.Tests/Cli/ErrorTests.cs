// Every error an admin can meet: a clear message, its own non-zero exit status, and nothing
// half-created (no record without a folder, no folder without a record).
using Mailward.Core.Accounts;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class ErrorTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public ErrorTests() => _m.Run("domain", "add", "example.com", "pw").GetAwaiter().GetResult().Ok();

    public void Dispose() => _m.Dispose();

    /// <summary>Every folder under the mail store, to prove an error made none.</summary>
    private string[] Folders() => Directory.GetDirectories(_m.MailStore, "*", SearchOption.AllDirectories).Order().ToArray();

    private async Task AssertFailsCleanly(AccountError error, string messagePart, params string[] args)
    {
        var before = Folders();
        var users = _m.Store.ListDomains().Sum(d => _m.Store.CountUsers(d.Id));
        var r = (await _m.Run(args)).Fails(error);
        Assert.Contains(messagePart, r.Err);
        Assert.Equal(before, Folders());
        Assert.Equal(users, _m.Store.ListDomains().Sum(d => _m.Store.CountUsers(d.Id)));
        Assert.Empty(_m.Store.ListFolderIntents());
    }

    [Fact]
    public Task Domain_exists() => AssertFailsCleanly(AccountError.DomainExists, "domain already exists: example.com", "vadddomain", "EXAMPLE.com", "pw");

    [Fact]
    public Task Domain_does_not_exist() => AssertFailsCleanly(AccountError.DomainNotFound, "domain does not exist: nowhere.test", "user", "add", "joe@nowhere.test", "pw");

    [Fact]
    public async Task User_exists()
    {
        (await _m.Run("user", "add", "joe@example.com", "pw")).Ok();
        await AssertFailsCleanly(AccountError.UserExists, "user already exists: joe@example.com", "vadduser", "JOE@example.com", "pw");
    }

    [Fact]
    public Task Illegal_user_name() => AssertFailsCleanly(AccountError.IllegalUser, "illegal user name", "user", "add", "../etc@example.com", "pw");

    [Fact]
    public Task Illegal_domain_name() => AssertFailsCleanly(AccountError.IllegalDomain, "illegal domain name", "domain", "add", "bad_domain.com", "pw");

    [Fact]
    public Task User_name_too_long() => AssertFailsCleanly(AccountError.NameTooLong, "too long", "user", "add", new string('j', 65) + "@example.com", "pw");

    [Fact]
    public Task Domain_name_too_long() => AssertFailsCleanly(AccountError.NameTooLong, "too long", "domain", "add", new string('d', 64) + ".com", "pw");

    [Fact]
    public Task Quota_malformed() => AssertFailsCleanly(AccountError.QuotaMalformed, "quota malformed", "vadduser", "-q", "plenty", "joe@example.com", "pw");

    [Fact]
    public async Task Limit_reached()
    {
        (await _m.Run("domain", "limits", "example.com", "--max-users", "1")).Ok(); // the postmaster is the one
        await AssertFailsCleanly(AccountError.LimitReached, "limit reached", "user", "add", "joe@example.com", "pw");
    }

    [Fact]
    public async Task Folder_that_cannot_be_made_leaves_no_account()
    {
        // Something already stands where the next user's folder goes.
        var blocker = Path.Combine(_m.MailStore, "example.com", "blocked");
        await File.WriteAllTextAsync(blocker, "not a folder");
        var r = (await _m.Run("user", "add", "blocked@example.com", "pw")).Fails(AccountError.StorageFailed);
        Assert.Contains("cannot create the user's folder", r.Err);
        Assert.Null(_m.Store.FindUser("blocked", "example.com"));
        Assert.True(File.Exists(blocker)); // what was there is left alone
        Assert.Empty(_m.Store.ListFolderIntents());
    }

    [Fact]
    public async Task Unknown_command_option_and_setting_are_usage_errors()
    {
        Assert.Equal(1, (await _m.Run("frobnicate")).Code);
        Assert.Equal(1, (await _m.Run("user", "add", "x@example.com", "pw", "--bogus")).Code);
        Assert.Null(_m.Store.FindUser("x", "example.com"));
        var r = await _m.Run("--No:Such=1", "domain", "list");
        Assert.Equal(1, r.Code);
        Assert.Contains("unknown setting No:Such", r.Err);
        // A section's sub-keys are settings too: a route per domain on the command line, as in mailward.json.
        (await _m.Run("--Remote:Routes:hosted.test=127.0.0.1:2525", "--Submission:Overrides:hosted.test:MaxMessagesPerHour=5", "domain", "list")).Ok();
        Assert.Contains("unknown setting Remote:Routesx:y", (await _m.Run("--Remote:Routesx:y=1", "domain", "list")).Err);
        var bad = await _m.Run("--MailStore:MaxDirectoryEntries=5", "domain", "list");
        Assert.Equal(3, bad.Code);
        Assert.Contains("MailStore:MaxDirectoryEntries must be a whole number from 20", bad.Err);
        var pg = await _m.Run("--Accounts:Provider=postgres", "domain", "list");
        Assert.Equal(3, pg.Code);
        Assert.Contains("Accounts:Provider=postgres needs Accounts:ConnectionString", pg.Err);
        Assert.Contains("must be sqlite or postgres", (await _m.Run("--Accounts:Provider=mysql", "domain", "list")).Err);
    }
}
