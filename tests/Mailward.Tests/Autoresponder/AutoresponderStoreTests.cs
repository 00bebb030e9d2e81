// The autoresponder tables of the SQLite account store (schema version 4, docs/autoresponder.md):
// the once-per-sender record as one statement, its bounded clean-up, the domain's limit, and the
// rows going with their address, user or domain.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Mailward.Tests.Autoresponder;

public sealed class AutoresponderStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    private async Task<(AccountAdmin Admin, DomainRecord Domain)> SetupAsync()
    {
        Directory.CreateDirectory(_m.Data);
        var admin = _m.Admin();
        await admin.AddDomainAsync(Actor.System, "hosted.test", new PasswordInput.Clear("pw"));
        await admin.AddUserAsync(Actor.System, "joe@hosted.test", new PasswordInput.Clear("pw"));
        await admin.AddAliasLineAsync(Actor.System, "sales@hosted.test", "&joe@hosted.test");
        return (admin, _m.Store.FindDomain("hosted.test")!);
    }

    private long Rows(string table)
    {
        using var c = new SqliteConnection($"Data Source={Path.Combine(_m.Data, "accounts.db")};Pooling=false");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT COUNT(*) FROM {table}";
        return (long)cmd.ExecuteScalar()!;
    }

    [Fact]
    public async Task A_new_store_is_at_schema_version_4_with_both_tables()
    {
        await SetupAsync();
        Assert.True(_m.Store.SchemaVersion >= 4, $"schema version {_m.Store.SchemaVersion}"); // 4 brought these tables; later ones (5: greylisting) add others
        Assert.Equal(0, Rows("autoresponders"));
        Assert.Equal(0, Rows("autoresponder_replies"));
    }

    [Fact]
    public async Task A_sender_is_recorded_once_per_interval_per_autoresponder()
    {
        var (_, d) = await SetupAsync();
        var store = _m.Store;
        Assert.True(store.TryRecordReply(d.Id, "joe", "a@remote.test", T0, T0.AddDays(7), 100));
        Assert.False(store.TryRecordReply(d.Id, "joe", "a@remote.test", T0.AddDays(7).AddSeconds(-1), T0.AddDays(14), 100));
        Assert.True(store.TryRecordReply(d.Id, "sales", "a@remote.test", T0, T0.AddDays(7), 100)); // another autoresponder
        Assert.True(store.TryRecordReply(d.Id, "joe", "a@remote.test", T0.AddDays(7), T0.AddDays(14), 100)); // expired: answered again
        Assert.False(store.TryRecordReply(d.Id, "joe", "a@remote.test", T0.AddDays(8), T0.AddDays(15), 100)); // the new record holds
        Assert.Equal(1, store.CountRememberedSenders(d.Id, "joe", T0.AddDays(8)));
    }

    [Fact]
    public async Task Each_record_removes_at_most_the_cleanup_batch_of_expired_rows()
    {
        var (_, d) = await SetupAsync();
        var store = _m.Store;
        for (var i = 0; i < 250; i++)
            Assert.True(store.TryRecordReply(d.Id, "joe", $"s{i}@remote.test", T0, T0.AddDays(1), 100));
        Assert.Equal(250, Rows("autoresponder_replies"));
        var later = T0.AddDays(2); // all 250 expired
        Assert.True(store.TryRecordReply(d.Id, "joe", "new1@remote.test", later, later.AddDays(1), 100));
        Assert.Equal(250 - 100 + 1, Rows("autoresponder_replies"));
        Assert.True(store.TryRecordReply(d.Id, "joe", "new2@remote.test", later, later.AddDays(1), 100));
        Assert.True(store.TryRecordReply(d.Id, "joe", "new3@remote.test", later, later.AddDays(1), 100));
        Assert.Equal(3, Rows("autoresponder_replies")); // the unexpired ones stay
        Assert.Equal(3, store.CountRememberedSenders(d.Id, "joe", later));
    }

    [Fact]
    public async Task The_rows_go_with_the_autoresponder_the_alias_the_user_and_the_domain()
    {
        var (admin, d) = await SetupAsync();
        var store = _m.Store;
        await admin.SetAutoresponderAsync(Actor.System, "joe@hosted.test", new AutoresponderChange { Text = "away" });
        await admin.SetAutoresponderAsync(Actor.System, "sales@hosted.test", new AutoresponderChange { Text = "closed" });
        store.TryRecordReply(d.Id, "joe", "a@remote.test", T0, T0.AddDays(7), 100);
        store.TryRecordReply(d.Id, "sales", "a@remote.test", T0, T0.AddDays(7), 100);
        await admin.DeleteAliasAsync(Actor.System, "sales@hosted.test", null);
        Assert.Null(store.FindAutoresponder(d.Id, "sales"));
        Assert.Equal(1, Rows("autoresponder_replies"));
        Assert.True(await admin.DeleteAutoresponderAsync(Actor.System, "joe@hosted.test"));
        Assert.False(await admin.DeleteAutoresponderAsync(Actor.System, "joe@hosted.test"));
        Assert.Equal(0, Rows("autoresponder_replies"));

        await admin.SetAutoresponderAsync(Actor.System, "joe@hosted.test", new AutoresponderChange { Text = "away" });
        store.TryRecordReply(d.Id, "joe", "a@remote.test", T0, T0.AddDays(7), 100);
        await admin.DeleteUserAsync(Actor.System, "joe@hosted.test");
        Assert.Equal(0, Rows("autoresponders"));
        Assert.Equal(0, Rows("autoresponder_replies"));

        await admin.AddUserAsync(Actor.System, "amy@hosted.test", new PasswordInput.Clear("pw"));
        await admin.SetAutoresponderAsync(Actor.System, "amy@hosted.test", new AutoresponderChange { Text = "away" });
        store.TryRecordReply(d.Id, "amy", "a@remote.test", T0, T0.AddDays(7), 100);
        await admin.DeleteDomainAsync(Actor.System, "hosted.test");
        Assert.Equal(0, Rows("autoresponders"));
        Assert.Equal(0, Rows("autoresponder_replies"));
    }

    [Fact]
    public async Task Setting_checks_the_address_the_values_and_the_domains_limit()
    {
        var (admin, _) = await SetupAsync();
        async Task<AccountError> Fails(string address, AutoresponderChange change) =>
            (await Assert.ThrowsAsync<AccountException>(() => admin.SetAutoresponderAsync(Actor.System, address, change))).Error;
        Assert.Equal(AccountError.UserNotFound, await Fails("ghost@hosted.test", new() { Text = "x" }));
        Assert.Equal(AccountError.DomainNotFound, await Fails("joe@ghost.test", new() { Text = "x" }));
        Assert.Equal(AccountError.InvalidArgument, await Fails("joe@hosted.test", new() { Subject = "no text yet" }));
        Assert.Equal(AccountError.InvalidArgument, await Fails("joe@hosted.test", new() { Text = "x", IntervalDays = 0 }));
        Assert.Equal(AccountError.InvalidArgument, await Fails("joe@hosted.test", new() { Text = "x", IntervalDays = 366 }));
        Assert.Equal(AccountError.InvalidArgument, await Fails("joe@hosted.test", new() { Text = "x", Subject = "two\r\nlines" }));
        Assert.Equal(AccountError.InvalidArgument, await Fails("joe@hosted.test", new() { Text = new string('x', 65537) }));
        Assert.Equal(AccountError.InvalidArgument, await Fails("joe@hosted.test", new() { Text = "x", StartsAt = T0, EndsAt = T0 }));

        var set = await admin.SetAutoresponderAsync(Actor.System, "joe@hosted.test", new() { Text = "away" });
        Assert.Equal((AutoresponderLimits.DefaultSubject, 7, true), (set.Subject, set.IntervalDays, set.Deliver));
        // A change keeps what it does not name.
        var changed = await admin.SetAutoresponderAsync(Actor.System, "joe@hosted.test", new() { IntervalDays = 3, EndsAt = T0 });
        Assert.Equal(("away", 3, (DateTimeOffset?)T0), (changed.Text, changed.IntervalDays, changed.EndsAt));
        Assert.Null((await admin.SetAutoresponderAsync(Actor.System, "joe@hosted.test", new() { ClearEnd = true })).EndsAt);

        await admin.SetLimitsAsync(Actor.System, "hosted.test", DomainLimits.None with { MaxAutoresponders = 1 });
        Assert.Equal(AccountError.LimitReached, await Fails("sales@hosted.test", new() { Text = "closed" }));
        await admin.SetAutoresponderAsync(Actor.System, "joe@hosted.test", new() { Text = "still one" }); // a change is not a new one
    }
}
