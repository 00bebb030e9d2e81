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
    public async Task A_structure_asked_again_before_its_batch_is_written_comes_from_the_waiting_record()
    {
        Deliver(1, "first");
        using var box = await OpenAsync();
        Assert.Equal("first", await SubjectAsync(box, 1));
        Assert.False(File.Exists(CacheFile)); // still waiting in the batch (256 records, 1 MB or 2 s)
        Scramble(FileOf(0), "first", "FIRST");
        Assert.Equal("first", await SubjectAsync(box, 1)); // the waiting record, decoded: not parsed again
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
    /// <summary>
    /// The codec writes exactly what .NET's BinaryWriter wrote for the format in docs/mail-store.md
    /// (files written before the span codec still read, and new ones read in older builds), and
    /// reads it back field for field.
    /// </summary>
    [Fact]
    public void The_codec_writes_the_documented_BinaryWriter_form()
    {
        var text = "From: \"A\" <a@x.test>, b@y.test\nTo: group: c@x.test;\nSubject: =?utf-8?q?caf=C3=A9?=\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n"
            + "Message-ID: <m@x.test>\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=utf-8; format=flowed\n"
            + "Content-Language: en, de\nContent-ID: <p1>\n\nhello\r\n--b\nContent-Type: message/rfc822\nContent-Disposition: attachment; filename=m.eml\n\n"
            + "From: inner@x.test\nSubject: inner\n\ninner body\n--b--\n";
        var s = Mailward.Core.MailStore.Structure.StructureParser.Parse(new MemoryStream(Encoding.Latin1.GetBytes(text)));
        foreach (var structure in new[] { s, s with { SearchFields = null } })
        {
            var expected = new MemoryStream();
            using (var w = new BinaryWriter(expected, Encoding.Latin1, leaveOpen: true))
            {
                void Text(string? v)
                {
                    w.Write7BitEncodedInt(v is null ? 0 : v.Length + 1);
                    if (v is not null)
                        w.Write(Encoding.Latin1.GetBytes(v));
                }
                void Region(Mailward.Core.MailStore.Structure.Region g)
                {
                    w.Write(g.Offset);
                    w.Write(g.Length);
                    w.Write(g.Size);
                    w.Write((long)g.Lines);
                }
                void Parameters(IReadOnlyList<Mailward.Core.MailStore.Structure.MimeParameter> ps)
                {
                    w.Write7BitEncodedInt(ps.Count);
                    foreach (var p in ps)
                    {
                        Text(p.Name);
                        Text(p.Value);
                    }
                }
                void Addresses(IReadOnlyList<Mailward.Core.MailStore.Structure.EnvelopeAddress>? list)
                {
                    w.Write7BitEncodedInt(list is null ? 0 : list.Count + 1);
                    foreach (var a in list ?? [])
                    {
                        Text(a.Name);
                        Text(a.Route);
                        Text(a.Mailbox);
                        Text(a.Host);
                    }
                }
                void Part(Mailward.Core.MailStore.Structure.BodyPart p)
                {
                    w.Write((byte)p.Kind);
                    Region(p.Header);
                    Region(p.Body);
                    Text(p.Type);
                    Text(p.Subtype);
                    Parameters(p.Parameters);
                    Text(p.Id);
                    Text(p.Description);
                    Text(p.Encoding);
                    Text(p.Md5);
                    Text(p.Disposition);
                    Parameters(p.DispositionParameters);
                    w.Write7BitEncodedInt(p.Languages is null ? 0 : p.Languages.Count + 1);
                    foreach (var l in p.Languages ?? [])
                        Text(l);
                    Text(p.Location);
                    w.Write(p.Envelope is not null);
                    if (p.Envelope is { } e)
                    {
                        Text(e.Date);
                        Text(e.Subject);
                        foreach (var list in new[] { e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc })
                            Addresses(list);
                        Text(e.InReplyTo);
                        Text(e.MessageId);
                    }
                    w.Write7BitEncodedInt(p.Parts.Count);
                    foreach (var c in p.Parts)
                        Part(c);
                    w.Write(p.Message is not null);
                    if (p.Message is not null)
                        Part(p.Message);
                }
                Text("the-key");
                w.Write(structure.Size);
                w.Write(structure.VirtualSize);
                Part(structure.Root);
                if (structure.SearchFields is { } fields)
                {
                    w.Write7BitEncodedInt(fields.Count);
                    foreach (var f in fields)
                    {
                        Text(f.Name);
                        Text(f.Value);
                    }
                }
            }
            var encoded = StructureCodec.Encode("the-key", structure);
            Assert.Equal(expected.ToArray(), encoded);
            Assert.Equal("the-key", StructureCodec.Key(encoded));
            var (key, decoded) = StructureCodec.Decode(encoded)!.Value;
            Assert.Equal("the-key", key);
            Assert.Equal(encoded, StructureCodec.Encode("the-key", decoded)); // every field came back
            Assert.Equal(["en", "de"], decoded.Root.Parts[0].Languages);
            Assert.Equal("inner", decoded.Root.Parts[1].Message!.Envelope!.Subject);
            // Cut anywhere inside the top part, the record does not decode (and nothing throws).
            var partEnd = StructureCodec.Encode("the-key", structure with { SearchFields = null }).Length;
            for (var cut = 0; cut < partEnd; cut += 3)
                Assert.Null(StructureCodec.Decode(encoded.AsSpan(0, cut)));
        }
    }
}
