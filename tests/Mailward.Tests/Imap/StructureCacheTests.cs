// The structure cache (docs/mail-store.md "The structure cache"): a structure is parsed once and
// then read from mailward-structure, also by a later process; each state of the file's table
// (missing, torn tail, garbled, stale key, dead records, leftover tmp) ends in correct structures.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.Imap;

public sealed class StructureCacheTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly MailStoreLayout _layout;
    private readonly MailboxOwner _owner = new("joe@hosted.test", "hosted.test/joe");

    public StructureCacheTests() => _layout = new MailStoreLayout(_dir.Path, 100);

    public void Dispose() => _dir.Dispose();

    private string Maildir => MailStoreLayout.MaildirOf(_layout.Resolve(_owner.Directory));

    private string CacheFile => Path.Combine(Maildir, StructureCache.FileName);

    private void Deliver(int n, string subject)
    {
        using var body = new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {subject}\nContent-Type: text/plain\n\nbody {n}\n"));
        MaildirWriter.Deliver(Maildir, $"{1_700_000_000 + n}.M{n:D4}", "mail.test", "s@remote.test", "joe@hosted.test", body);
    }

    private async Task<IMailbox> OpenAsync() => await new MaildirStore(_layout, "node-a", "mail.test").OpenAsync(_owner);

    private static async Task<string?> SubjectAsync(IMailbox box, uint uid) => (await box.StructureAsync(uid))?.Root.Envelope?.Subject;

    private string FileOf(uint index) => Directory.GetFiles(Path.Combine(Maildir, "cur")).Order(StringComparer.Ordinal).ElementAt((int)index);

    /// <summary>Rewrites a message in place with other bytes of the same length: only a cached structure still shows the old subject.</summary>
    private void Scramble(string file, string from, string to)
    {
        Assert.Equal(from.Length, to.Length);
        File.WriteAllText(file, File.ReadAllText(file).Replace(from, to, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_structure_is_parsed_once_and_read_from_the_file_by_a_later_mailbox()
    {
        Deliver(1, "first");
        Deliver(2, "second");
        using (var box = await OpenAsync())
        {
            Assert.Equal("first", await SubjectAsync(box, 1));
            Assert.Equal("second", await SubjectAsync(box, 2));
        }
        Assert.StartsWith("MWSTRUCT 1 ", File.ReadAllText(CacheFile));
        Scramble(FileOf(0), "first", "FIRST");
        using (var box = await OpenAsync())
            Assert.Equal("first", await SubjectAsync(box, 1)); // from the cache: the file was not parsed again
    }

    [Fact]
    public async Task Missing_file_means_parsing_again()
    {
        Deliver(1, "first");
        using (var box = await OpenAsync())
            Assert.Equal("first", await SubjectAsync(box, 1));
        File.Delete(CacheFile);
        Scramble(FileOf(0), "first", "FIRST");
        using (var box = await OpenAsync())
            Assert.Equal("FIRST", await SubjectAsync(box, 1));
        Assert.True(File.Exists(CacheFile));
    }

    [Fact]
    public async Task A_torn_tail_keeps_the_records_before_it_and_is_cut_at_the_next_write()
    {
        Deliver(1, "first");
        Deliver(2, "second");
        using (var box = await OpenAsync())
            Assert.Equal("first", await SubjectAsync(box, 1));
        File.AppendAllText(CacheFile, "R 4000 0badc0de\nhalf a rec"); // a crash during an append
        Scramble(FileOf(0), "first", "FIRST");
        using (var box = await OpenAsync())
        {
            Assert.Equal("first", await SubjectAsync(box, 1)); // the record before the tear
            Assert.Equal("second", await SubjectAsync(box, 2));
        }
        Assert.DoesNotContain("0badc0de", File.ReadAllText(CacheFile, Encoding.Latin1));
        Scramble(FileOf(1), "second", "SECOND");
        using (var box = await OpenAsync())
        {
            Assert.Equal("first", await SubjectAsync(box, 1));
            Assert.Equal("second", await SubjectAsync(box, 2)); // both cached in the rewritten file
        }
    }

    [Fact]
    public async Task A_garbled_file_is_ignored_and_replaced()
    {
        Deliver(1, "first");
        File.WriteAllText(CacheFile, "MWSTRUCT 9 whatever\nR 5 00000000\nhello\n");
        using (var box = await OpenAsync())
            Assert.Equal("first", await SubjectAsync(box, 1));
        Assert.StartsWith("MWSTRUCT 1 L", File.ReadAllText(CacheFile));
        Scramble(FileOf(0), "first", "FIRST");
        using (var box = await OpenAsync())
            Assert.Equal("first", await SubjectAsync(box, 1));
    }

    [Fact]
    public async Task A_record_of_another_limit_set_is_not_used()
    {
        Deliver(1, "first");
        using (var box = await OpenAsync())
            Assert.Equal("first", await SubjectAsync(box, 1));
        Scramble(FileOf(0), "first", "FIRST");
        var store = new MaildirStore(_layout, "node-a", "mail.test") { StructureLimits = new(MaxDepth: 5) };
        using var other = await store.OpenAsync(_owner);
        Assert.Equal("FIRST", await SubjectAsync(other, 1));
    }

    [Fact]
    public async Task A_stale_record_whose_size_differs_is_parsed_again()
    {
        // A name without ,S= (qmail's): the size comes from the file, so a file replaced by hand under
        // the same name no longer matches its record.
        Directory.CreateDirectory(Path.Combine(Maildir, "cur"));
        Directory.CreateDirectory(Path.Combine(Maildir, "new"));
        Directory.CreateDirectory(Path.Combine(Maildir, "tmp"));
        var file = Path.Combine(Maildir, "cur", "1700000001.4242.mail.test:2,");
        File.WriteAllText(file, "Subject: first\n\nbody\n");
        using (var box = await OpenAsync())
            Assert.Equal("first", await SubjectAsync(box, 1));
        File.WriteAllText(file, "Subject: the replaced first\n\nbody\n");
        using (var box = await OpenAsync())
            Assert.Equal("the replaced first", await SubjectAsync(box, 1));
    }

    [Fact]
    public async Task Records_of_expunged_messages_are_dropped_when_they_outnumber_the_folder()
    {
        for (var i = 1; i <= 130; i++)
            Deliver(i, $"m{i}");
        using (var box = await OpenAsync())
            for (uint uid = 1; uid <= 130; uid++)
                await box.StructureAsync(uid);
        using (var box = await OpenAsync())
            await box.ExpungeAsync(Enumerable.Range(1, 129).Select(i => (uint)i)); // nothing new to write: the file stays
        var before = File.ReadAllText(CacheFile, Encoding.Latin1).Split("\nR ").Length - 1;
        Assert.Equal(130, before);
        Deliver(200, "new");
        using (var box = await OpenAsync())
        {
            var uid = box.Entries[^1].Uid;
            Assert.Equal("new", await SubjectAsync(box, uid));
        }
        var after = File.ReadAllText(CacheFile, Encoding.Latin1).Split("\nR ").Length - 1;
        Assert.True(after <= 2, $"{after} records after the rewrite");
    }

    [Fact]
    public async Task A_leftover_tmp_file_is_ignored()
    {
        Deliver(1, "first");
        File.WriteAllText(CacheFile + ".tmp", "MWSTRUCT 1 torn");
        using (var box = await OpenAsync())
            Assert.Equal("first", await SubjectAsync(box, 1));
        Assert.StartsWith("MWSTRUCT 1 L", File.ReadAllText(CacheFile));
    }

    /// <summary>The search fields (docs/mail-store.md): the top header's, every occurrence in order, none of an attached message's; kept through the cache; an older record without them still reads.</summary>
    [Fact]
    public void Search_fields_are_the_top_headers_and_survive_the_codec()
    {
        var text = "From: a@x.test\nSubject: one\nX-Other: no\nTo: b@x.test\nTo: c@x.test\nContent-Type: message/rfc822\n\n"
            + "From: inner@x.test\nSubject: inner\n\nbody\n";
        var s = Mailward.Core.MailStore.Structure.StructureParser.Parse(new MemoryStream(Encoding.Latin1.GetBytes(text)));
        Assert.Equal(["From: a@x.test", "Subject: one", "To: b@x.test", "To: c@x.test"], s.SearchFields!.Select(f => $"{f.Name}:{f.Value.TrimEnd('\n')}"));
        var decoded = StructureCodec.Decode(StructureCodec.Encode("k", s))!.Value.Structure;
        Assert.Equal(s.SearchFields, decoded.SearchFields);
        var old = StructureCodec.Decode(StructureCodec.Encode("k", s with { SearchFields = null }))!.Value.Structure;
        Assert.Null(old.SearchFields);
        Assert.Equal(s.Root.Envelope!.Subject, old.Root.Envelope!.Subject);

        var huge = "To: " + string.Join(",", Enumerable.Range(0, 5000).Select(i => $"user{i}@x.test")) + "\nSubject: big\n\nbody\n";
        Assert.Null(Mailward.Core.MailStore.Structure.StructureParser.Parse(new MemoryStream(Encoding.Latin1.GetBytes(huge))).SearchFields);
    }
}
