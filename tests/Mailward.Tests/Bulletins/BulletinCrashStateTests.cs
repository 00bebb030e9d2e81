// Each crash state of docs/bulletin-format.md ("What a run does after a crash"), made on disk as an
// interrupted run leaves it (through the journal and the staged writer themselves), then the real
// `mailward bulletin` run again: every user ends with exactly one copy, or none where the user had
// deleted a published one.
using Mailward.Core.Admin;
using Mailward.Core.Bulletins;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.Bulletins;

public sealed class BulletinCrashStateTests : IDisposable
{
    private const string Node = "node1";
    private readonly MailwardRunner _m = new();
    private readonly string _file;

    public BulletinCrashStateTests()
    {
        _file = Path.Combine(_m.Data, "..", "notice.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(_file)!);
        File.WriteAllText(_file, "From: admin@a.test\nSubject: maintenance tonight\n\nThe server restarts at 22:00.\n");
    }

    public void Dispose() => _m.Dispose();

    private async Task SetUpAsync(int users = 3)
    {
        (await _m.Run("domain", "add", "a.test", "--no-postmaster")).Ok();
        for (var i = 0; i < users; i++)
            await _m.Admin().AddUserAsync(Actor.System, $"u{i}@a.test", new PasswordInput.NoPassword());
    }

    private Task<CliResult> RunBulletin(params string[] more) => _m.Run(["--Node:Id=" + Node, "--Hostname=mail.test", "bulletin", _file, "a.test", .. more]);

    private string Maildir(string address) => MailStoreLayout.MaildirOf(_m.UserFolder(address));

    private int Copies(string address) =>
        Directory.GetFiles(Path.Combine(Maildir(address), "new")).Length + Directory.GetFiles(Path.Combine(Maildir(address), "cur")).Length;

    private int Staged(string address) => Directory.GetFiles(Path.Combine(Maildir(address), "tmp")).Length;

    private string Folder => BulletinJournal.FolderOf(_m.Data);

    private BulletinMessage Message => BulletinMessage.Load(_file, 1 << 20);

    /// <summary>What an interrupted run leaves: the journal, and for each user either a staged copy (and maybe its D line) or nothing.</summary>
    private (BulletinJournal Journal, StagedCopy Copy) Stage(BulletinJournal journal, string address)
    {
        var m = Message;
        var copy = MaildirWriter.Stage(Maildir(address), MaildirName.BulletinBase(journal.Created, journal.Digest16, address, Node), "mail.test",
            m.HeaderFor(address, journal.Created, "mail.test"), m.Body);
        return (journal, copy);
    }

    private void AssertOneEach(params string[] addresses)
    {
        foreach (var a in addresses)
        {
            Assert.True(Copies(a) == 1, $"{a} has {Copies(a)} copies");
            Assert.Equal(0, Staged(a));
        }
    }

    [Fact]
    public async Task A_run_that_died_before_its_header_was_written_starts_afresh()
    {
        await SetUpAsync();
        Directory.CreateDirectory(Folder);
        File.WriteAllText(Path.Combine(Folder, Message.Digest[..16] + "-1700000000.journal"), "mailward-bulletin 1 "); // torn header
        var r = (await RunBulletin()).Ok();
        Assert.DoesNotContain("resuming", r.Out);
        AssertOneEach("u0@a.test", "u1@a.test", "u2@a.test");
        Assert.Single(Directory.GetFiles(Folder));
    }

    [Fact]
    public async Task Staged_without_a_D_line_is_staged_again_and_delivered_once()
    {
        await SetUpAsync();
        var (_, journal) = BulletinJournal.Open(Folder, Message.Digest, Message.Body.Length, DateTimeOffset.UtcNow, again: false);
        using (journal)
            Stage(journal, "u0@a.test"); // the run died before the batch's commit
        Assert.Equal(1, Staged("u0@a.test"));
        Assert.Equal(0, Copies("u0@a.test"));
        var r = (await RunBulletin()).Ok();
        Assert.Contains("resuming", r.Out);
        AssertOneEach("u0@a.test", "u1@a.test", "u2@a.test");
    }

    [Fact]
    public async Task Committed_but_not_published_is_published_once()
    {
        await SetUpAsync();
        var (_, journal) = BulletinJournal.Open(Folder, Message.Digest, Message.Body.Length, DateTimeOffset.UtcNow, again: false);
        using (journal)
        {
            var (_, copy) = Stage(journal, "u1@a.test");
            journal.Commit([new BulletinDelivered("u1@a.test", copy.TmpName, copy.FinalName)]); // died before the rename
        }
        var r = (await RunBulletin()).Ok();
        Assert.Contains("1 users have it already", r.Out);
        AssertOneEach("u0@a.test", "u1@a.test", "u2@a.test");
        var name = Directory.GetFiles(Path.Combine(Maildir("u1@a.test"), "new")).Single();
        Assert.Contains(".B" + Message.Digest[..16] + "U", name);
    }

    [Fact]
    public async Task Published_then_deleted_by_the_user_is_not_sent_again()
    {
        await SetUpAsync();
        var (_, journal) = BulletinJournal.Open(Folder, Message.Digest, Message.Body.Length, DateTimeOffset.UtcNow, again: false);
        using (journal)
        {
            var (_, copy) = Stage(journal, "u2@a.test");
            journal.Commit([new BulletinDelivered("u2@a.test", copy.TmpName, copy.FinalName)]);
            Assert.Equal(PublishOutcome.Published, MaildirWriter.PublishStaged(copy.Maildir, copy.TmpName, copy.FinalName, "", checkExisting: false));
        }
        // The user read and deleted it (POP3 DELE) before the re-run.
        File.Delete(Directory.GetFiles(Path.Combine(Maildir("u2@a.test"), "new")).Single());
        (await RunBulletin()).Ok();
        Assert.Equal(0, Copies("u2@a.test"));
        Assert.Equal(0, Staged("u2@a.test"));
        AssertOneEach("u0@a.test", "u1@a.test");
    }

    [Fact]
    public async Task Every_D_line_written_but_no_F_line_finishes_without_sending()
    {
        await SetUpAsync(2);
        (await RunBulletin()).Ok();
        var path = Directory.GetFiles(Folder).Single();
        var lines = File.ReadAllLines(path);
        Assert.StartsWith("F ", lines[^1]);
        File.WriteAllLines(path, lines[..^1]); // died just before the F line
        var r = (await RunBulletin()).Ok();
        Assert.Contains("delivered to 0 users, 2 had it already", r.Out);
        Assert.StartsWith("F ", File.ReadAllLines(path)[^1]);
        AssertOneEach("u0@a.test", "u1@a.test");
    }

    [Fact]
    public async Task A_finished_bulletin_is_not_sent_again_unless_again_is_given()
    {
        await SetUpAsync(2);
        (await RunBulletin()).Ok();
        var r = (await RunBulletin()).Ok();
        Assert.Contains("nothing to do", r.Out);
        AssertOneEach("u0@a.test", "u1@a.test");
        (await RunBulletin("--again")).Ok();
        Assert.Equal(2, Copies("u0@a.test"));
        Assert.Equal(2, Directory.GetFiles(Folder).Length);
    }

    [Fact]
    public async Task A_torn_tail_is_cut_and_its_user_delivered_once()
    {
        await SetUpAsync();
        var (_, journal) = BulletinJournal.Open(Folder, Message.Digest, Message.Body.Length, DateTimeOffset.UtcNow, again: false);
        string path;
        using (journal)
        {
            path = journal.Path;
            Stage(journal, "u0@a.test");
        }
        File.AppendAllText(path, "D u0@a.test 17000"); // the append was cut short
        (await RunBulletin()).Ok();
        AssertOneEach("u0@a.test", "u1@a.test", "u2@a.test");
        Assert.All(File.ReadAllLines(path), l => Assert.Matches("^(mailward-bulletin|D|F) .* [0-9a-f]{8}$", l));
    }

    [Fact]
    public async Task Damage_before_good_records_is_refused()
    {
        await SetUpAsync();
        var (_, journal) = BulletinJournal.Open(Folder, Message.Digest, Message.Body.Length, DateTimeOffset.UtcNow, again: false);
        string path;
        using (journal)
        {
            path = journal.Path;
            var (_, copy) = Stage(journal, "u0@a.test");
            journal.Commit([new BulletinDelivered("u0@a.test", copy.TmpName, copy.FinalName)]);
        }
        var lines = File.ReadAllLines(path).ToList();
        lines.Insert(1, "D garbage 00000000");
        File.WriteAllLines(path, lines);
        var r = await RunBulletin();
        Assert.Equal(30, r.Code);
        Assert.Contains("damaged", r.Err);
        Assert.Equal(0, Copies("u1@a.test"));
    }

    [Fact]
    public async Task A_second_run_of_the_same_bulletin_at_once_is_refused()
    {
        await SetUpAsync(1);
        var (_, journal) = BulletinJournal.Open(Folder, Message.Digest, Message.Body.Length, DateTimeOffset.UtcNow, again: false);
        using (journal)
        {
            var r = await RunBulletin();
            Assert.Equal(30, r.Code);
            Assert.Contains("another run", r.Err);
        }
        Assert.Equal(0, Copies("u0@a.test"));
    }
}
