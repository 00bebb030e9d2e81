// What POP3 and IMAP transcripts share: a fresh account store and mail store set up from the
// file's "@" lines (SmtpFixture.Apply: @user, @aliasdomain, @flags, @quota, @mail ADDRESS NAME TEXT, ...;
// "@set Key=value" is the protocol's own setting), and the "=" lines about mailboxes:
// "= mailbox ADDRESS N" (N messages in INBOX) and "= folder ADDRESS NAME N" (N in that folder);
// and the "!" event between lines: "! mail ADDRESS NAME TEXT", delivered and announced as delivery does.
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Core.Passwords;
using Mailward.Tests.Smtp;

namespace Mailward.Tests.Support;

public sealed class MailboxWorld : IDisposable
{
    private readonly TempFolder _tmp = new();

    public MailboxWorld(Transcript t)
    {
        Store = new SqliteAccountStore($"Data Source={_tmp.Combine("accounts.db")}");
        Layout = new MailStoreLayout(_tmp.Combine("domains"));
        Hasher = new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 });
        SmtpFixture.Apply(new AccountAdmin(Store, Layout, Hasher), Store, TranscriptHarness.FixturesWithoutSettings(t));
    }

    public SqliteAccountStore Store { get; }
    public MailStoreLayout Layout { get; }
    public PasswordHasher Hasher { get; }
    public LoginService Logins => new(Store, Hasher, new LoginOptions());

    /// <summary>Checks the file's "=" lines against this world's mail store.</summary>
    public void Check(Transcript t) => MailboxAssertions.Check(t, Store, Layout);

    public void Dispose()
    {
        Store.Dispose();
        _tmp.Dispose();
    }
}

public static class MailboxAssertions
{
    /// <summary>Checks the "=" lines after a socket run, once the server's session has seen the client go.</summary>
    public static async Task CheckServerAsync(Transcript t, ServerFixture server)
    {
        using var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        // The session ends after the client has gone: give it a moment before counting files.
        await Task.Delay(100);
        Check(t, store, new MailStoreLayout(Path.Combine(server.DataPath, "domains")));
    }

    /// <summary>
    /// "! mail ADDRESS NAME TEXT": the message (as @mail: TEXT with \r \n escapes) written into the
    /// user's new/ and then announced on <paramref name="events"/>, in LocalDelivery's order.
    /// </summary>
    public static void Deliver(Transcript t, string action, SqliteAccountStore store, MailStoreLayout layout, MailboxEvents events)
    {
        if (action.Split(' ', 4) is not ["mail", var address, var name, var text])
            throw new FormatException($"{t.Name}: unknown event !{action}");
        SmtpFixture.WriteMail(MaildirOf(store, layout, address), address, name, text);
        events.Publish(new MailboxChange(address, "INBOX", MailboxChangeKind.Added));
    }

    /// <summary>A user's Maildir (INBOX) by address.</summary>
    public static string MaildirOf(SqliteAccountStore store, MailStoreLayout layout, string address)
    {
        var who = MailAddress.Parse(address);
        var user = store.FindUser(who.Local, who.Domain) ?? throw new FormatException($"no user {address}");
        return MailStoreLayout.MaildirOf(layout.Resolve(user.Directory));
    }

    public static void Check(Transcript t, SqliteAccountStore store, MailStoreLayout layout)
    {
        foreach (var a in t.Assertions)
        {
            var (address, folder, count, inbox) = a.Split(' ') switch
            {
                ["mailbox", var ad, var c] => (ad, "INBOX", c, true),
                ["folder", var ad, var f, var c] => (ad, f, c, false),
                _ => throw new FormatException($"unknown assertion ={a}"),
            };
            var path = MaildirStore.FolderPath(MaildirOf(store, layout, address), folder);
            // "mailbox": INBOX must exist (its absence fails); a folder may have been deleted.
            var files = new[] { "new", "cur" }.Sum(d =>
                inbox || Directory.Exists(Path.Combine(path, d)) ? Directory.GetFiles(Path.Combine(path, d)).Length : 0);
            Assert.True(int.Parse(count) == files, $"{t.Name}: {a}, but {files} messages are there");
        }
    }
}
