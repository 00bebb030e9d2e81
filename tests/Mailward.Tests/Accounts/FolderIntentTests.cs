// Crash consistency between the account store and the mail store: an interrupted create or delete
// is finished by the next start (docs/mail-store.md), and a fresh intent of a running command is
// left alone.
using Mailward.Core.Accounts;
using Mailward.Core.MailStore;
using Mailward.Tests.Support;

namespace Mailward.Tests.Accounts;

public sealed class FolderIntentTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly ManualTimeProvider _clock = new(DateTimeOffset.UtcNow);

    public FolderIntentTests() => _m.Run("domain", "add", "example.com", "pw").GetAwaiter().GetResult().Ok();

    public void Dispose() => _m.Dispose();

    [Fact]
    public void Crash_after_making_the_folder_but_before_the_record_removes_the_folder()
    {
        // What AddUser does up to the crash: intent recorded, Maildir made, no record.
        var dir = "example.com/ghost";
        _m.Store.RecordFolderIntent(FolderIntentKind.Create, dir);
        MailFolders.CreateUserFolder(Path.Combine(_m.MailStore, dir));

        var admin = _m.Admin(_clock);
        Assert.Equal(0, admin.RecoverFolders()); // young: may be a command still running
        Assert.True(Directory.Exists(Path.Combine(_m.MailStore, dir)));

        _clock.Advance(TimeSpan.FromMinutes(11));
        Assert.Equal(1, admin.RecoverFolders());
        Assert.False(Directory.Exists(Path.Combine(_m.MailStore, dir)));
        Assert.Empty(_m.Store.ListFolderIntents());
    }

    [Fact]
    public async Task Crash_after_the_record_but_before_clearing_the_intent_keeps_the_folder()
    {
        (await _m.Run("user", "add", "joe@example.com", "pw")).Ok();
        var joe = _m.Store.FindUser("joe", "example.com")!;
        _m.Store.RecordFolderIntent(FolderIntentKind.Create, joe.Directory); // as if the clear was lost

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, _m.Admin(_clock).RecoverFolders());
        Assert.True(Directory.Exists(_m.UserFolder("joe@example.com")));
    }

    [Fact]
    public async Task Crash_after_deleting_the_record_but_before_removing_the_folder_removes_it()
    {
        (await _m.Run("user", "add", "joe@example.com", "pw")).Ok();
        var folder = _m.UserFolder("joe@example.com");
        var joe = _m.Store.FindUser("joe", "example.com")!;
        _m.Store.DeleteUser(joe); // the record goes with its delete intent; then the "crash"
        Assert.True(Directory.Exists(folder));
        Assert.Single(_m.Store.ListFolderIntents());

        // The next command finishes it (commands recover intents older than the grace period).
        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, _m.Admin(_clock).RecoverFolders());
        Assert.False(Directory.Exists(folder));
        Assert.Empty(_m.Store.ListFolderIntents());
    }

    [Fact]
    public async Task Commands_run_recovery_on_start()
    {
        var dir = "example.com/orphan";
        _m.Store.RecordFolderIntent(FolderIntentKind.Create, dir);
        MailFolders.CreateUserFolder(Path.Combine(_m.MailStore, dir));
        // Backdate the intent as if the crash happened an hour ago.
        using (var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_m.Data, "accounts.db")}"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE folder_intents SET created_at = created_at - 3600";
            cmd.ExecuteNonQuery();
        }
        (await _m.Run("domain", "list")).Ok();
        Assert.False(Directory.Exists(Path.Combine(_m.MailStore, dir)));
        Assert.Empty(_m.Store.ListFolderIntents());
    }
}
