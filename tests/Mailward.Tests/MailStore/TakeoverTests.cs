// Takeover from Courier-IMAP and Dovecot (docs/mail-store.md "Takeover"): Maildirs as those servers
// leave them (courierimapuiddb, courierpop3dsizelist, courierimapkeywords/, dovecot-uidlist v1 and
// v3 with P records, dovecot-keywords) keep UIDVALIDITY, UIDs, UIDNEXT, flags, keywords and POP3
// UIDLs after Mailward opens them; the foreign files are never changed; a crashed import is redone.
using System.Security.Cryptography;
using System.Text;
using MailKit.Net.Pop3;
using MailKit.Security;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class TakeoverTests : IDisposable
{
    private readonly TempFolder _dir = new();
    private readonly MailStoreLayout _layout;
    private readonly MailboxOwner _owner = new("joe@hosted.test", "hosted.test/joe");

    // Names as Courier and Dovecot write them (no ,W=: the CRLF size is counted or taken from W).
    private const string C1 = "1600000001.M100P200V0000000000000801I00000011.oldhost,S=27";
    private const string C2 = "1600000002.M101P201V0000000000000801I00000012.oldhost,S=27";
    private const string C3 = "1600000003.M102P202V0000000000000801I00000013.oldhost,S=27";
    private const string D1 = "1600000001.M1P1Q1R1a2b3c4d.oldhost,S=27";
    private const string D2 = "1600000002.M2P2Q2R2a2b3c4d.oldhost,S=27";
    private const string D3 = "1600000003.M3P3Q3R3a2b3c4d.oldhost,S=27";
    private const string D4 = "1600000004.M4P4Q4R4a2b3c4d.oldhost,S=27";

    public TakeoverTests() => _layout = new MailStoreLayout(_dir.Path, 100);

    public void Dispose() => _dir.Dispose();

    private string Maildir => MailStoreLayout.MaildirOf(_layout.Resolve(_owner.Directory));

    private MaildirStore Store() => new(_layout, "node-a", "mail.test", new ManualTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000)));

    /// <summary>A 27-byte message file in cur/ (or new/ when the name has no info).</summary>
    internal static void Put(string maildir, string name)
    {
        foreach (var sub in new[] { "cur", "new", "tmp" })
            Directory.CreateDirectory(Path.Combine(maildir, sub));
        File.WriteAllText(Path.Combine(maildir, name.Contains(':', StringComparison.Ordinal) ? "cur" : "new", name), "Subject: x\n\nbody text 1234\n");
    }

    internal static void Write(string maildir, string file, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(maildir, file))!);
        File.WriteAllText(Path.Combine(maildir, file), text);
    }

    /// <summary>Every foreign file's bytes, by path, to show they are never changed.</summary>
    private static Dictionary<string, string> Fingerprint(string maildir) =>
        Directory.EnumerateFiles(maildir, "*", SearchOption.AllDirectories)
            .Where(f => !Path.GetFileName(f).StartsWith("mailward-", StringComparison.Ordinal) && !f.Contains("/cur/", StringComparison.Ordinal)
                && !f.Contains("/new/", StringComparison.Ordinal))
            .ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

    private void CourierMaildir()
    {
        Put(Maildir, C1 + ":2,S");
        Put(Maildir, C2 + ":2,");
        Put(Maildir, C3); // new mail Courier never saw
        Write(Maildir, "courierimapuiddb", $"1 1234567 10\n3 {C1}\n7 {C2}\n8 1599999999.gone.oldhost\n");
        Write(Maildir, "courierpop3dsizelist", $"/3 5 1600000000\n{C1}:2,S 29 3:1600000000:0\n{C2}:2, 29 4:1600000000:0\n");
        Write(Maildir, "courierimapkeywords/:list", $"Work\n$Label1\n\n{C1}:0 1\n{C2}:0\n");
        Write(Maildir, $"courierimapkeywords/.5.{C2}", "Old\n");
        Write(Maildir, $"courierimapkeywords/.9.{C2}", "Personal\n"); // the newest update replaces the :list entry
        Write(Maildir, "courierimapsubscribed", "INBOX.Sent\n");
    }

    private void DovecotMaildir(string uidlist)
    {
        Put(Maildir, D1 + ":2,Sa");
        Put(Maildir, D2 + ":2,");
        Put(Maildir, D3 + ":2,FSbde"); // e has no name in dovecot-keywords
        Put(Maildir, D4); // new mail Dovecot never saw
        Write(Maildir, "dovecot-uidlist", uidlist);
        Write(Maildir, "dovecot-keywords", "0 $Forwarded\n1 Junk\n3 Project-X\n");
    }

    [Fact]
    public async Task Courier_uids_pop3_uidls_flags_and_keywords_are_kept_and_new_mail_numbers_from_its_nextuid()
    {
        CourierMaildir();
        var before = Fingerprint(Maildir);
        var store = Store();
        using (var box = await store.OpenAsync(_owner))
            AssertCourier(box);
        using (var again = await store.OpenAsync(_owner)) // now from mailward-uidlist
            AssertCourier(again);
        Assert.Equal(before, Fingerprint(Maildir));
        Assert.StartsWith("MWUIDLIST 2 V1234567 N11 C3\n", await File.ReadAllTextAsync(Path.Combine(Maildir, UidList.FileName)));
    }

    private static void AssertCourier(IMailbox box)
    {
        Assert.Equal(1234567u, box.UidValidity);
        Assert.Equal([3u, 7u, 10u], box.Entries.Select(e => e.Uid));
        Assert.Equal(11u, box.UidNext);
        Assert.Equal([MessageFlags.Seen, MessageFlags.None, MessageFlags.None], box.Entries.Select(e => e.Flags));
        Assert.Equal(["$Label1", "Work"], box.Entries[0].Keywords.Order(StringComparer.Ordinal));
        Assert.Equal(["Personal"], box.Entries[1].Keywords);
        Assert.Empty(box.Entries[2].Keywords);
        Assert.Equal(["UID3-1600000000", "UID4-1600000000", C3], box.Entries.Select(e => e.Pop3Uidl));
        Assert.Equal(27 + 3, box.VirtualSizeOf(box.Entries[0])); // counted: three line ends
    }

    [Fact]
    public async Task Dovecot_v3_uids_p_records_w_sizes_and_keyword_letters_are_kept()
    {
        DovecotMaildir($"3 V1500000000 N20 G0123456789abcdef0123456789abcdef\n5 W31 P0000abcd :{D1}\n6 :{D2}\n9 G77 O2 Pmigrated-uidl-9 :{D3}:2,S\n12 :{D2}\n");
        var before = Fingerprint(Maildir);
        using (var box = await Store().OpenAsync(_owner))
            AssertDovecot(box, [5u, 9u, 12u, 20u], 21u);
        using (var again = await Store().OpenAsync(_owner))
            AssertDovecot(again, [5u, 9u, 12u, 20u], 21u);
        Assert.Equal(before, Fingerprint(Maildir));
        Assert.Contains($"5 W31 P0000abcd :{D1}\n", await File.ReadAllTextAsync(Path.Combine(Maildir, UidList.FileName)));
        Assert.True(File.Exists(Path.Combine(Maildir, "cur", D1 + ":2,Sa"))); // Dovecot's letters kept: a stays $Forwarded
        Assert.True(File.Exists(Path.Combine(Maildir, "cur", D3 + ":2,FSbd"))); // the unnamed e is dropped
    }

    private static void AssertDovecot(IMailbox box, uint[] uids, uint next)
    {
        Assert.Equal(1500000000u, box.UidValidity);
        Assert.Equal(uids, box.Entries.Select(e => e.Uid));
        Assert.Equal(next, box.UidNext);
        var byUid = box.Entries.ToDictionary(e => e.Uid);
        Assert.Equal("0000abcd", byUid[5].Pop3Uidl);
        Assert.Equal("migrated-uidl-9", byUid[9].Pop3Uidl);
        Assert.Equal(D2, byUid[12].Pop3Uidl); // no P record: the name, as pop3_uidl_format=%f
        Assert.Equal(31, byUid[5].VirtualSize); // from W
        Assert.Equal(["$Forwarded"], byUid[5].Keywords);
        Assert.Equal(MessageFlags.Seen | MessageFlags.Flagged, byUid[9].Flags);
        Assert.Equal(["Junk", "Project-X"], byUid[9].Keywords);
    }

    [Fact]
    public async Task Dovecot_v1_uids_are_kept()
    {
        DovecotMaildir($"1 1400000000 4\n1 {D1}:2,S\n2 {D2}\n3 {D3}\n");
        using var box = await Store().OpenAsync(_owner);
        Assert.Equal(1400000000u, box.UidValidity);
        Assert.Equal([1u, 2u, 3u, 4u], box.Entries.Select(e => e.Uid));
        Assert.Equal(5u, box.UidNext);
        Assert.Equal(D1, box.Entries[0].Pop3Uidl);
    }

    [Fact]
    public async Task Of_both_lists_the_one_written_last_is_used()
    {
        CourierMaildir();
        Write(Maildir, "dovecot-uidlist", $"3 V42 N100\n50 :{C1}\n51 :{C2}\n");
        File.SetLastWriteTimeUtc(Path.Combine(Maildir, "courierimapuiddb"), DateTime.UtcNow.AddDays(-30));
        using var box = await Store().OpenAsync(_owner);
        Assert.Equal(42u, box.UidValidity);
        Assert.Equal([50u, 51u, 100u], box.Entries.Select(e => e.Uid));
        Assert.Equal(C1, box.Entries[0].Pop3Uidl); // Dovecot ran last: Courier's POP3 list is older than what clients saw since
    }

    [Fact]
    public async Task A_pop3_only_courier_maildir_keeps_its_uidls_under_a_new_uidvalidity()
    {
        Put(Maildir, C1 + ":2,S");
        Put(Maildir, C2 + ":2,");
        Write(Maildir, "courierpop3dsizelist", $"/2 5 0\n{C1}:2,S 29 3:0\n{C2}:2, 29 4:0\n");
        using var box = await Store().OpenAsync(_owner);
        Assert.Equal([1u, 2u], box.Entries.Select(e => e.Uid));
        Assert.Equal(["UID3", "UID4"], box.Entries.Select(e => e.Pop3Uidl));
    }

    [Fact]
    public async Task Broken_foreign_lines_are_skipped_and_their_messages_get_new_uids_and_a_broken_header_imports_nothing()
    {
        DovecotMaildir($"3 V77 N10\n5 :{D1}\nnonsense\n4 :{D2}\n8 Pnot valid:{D3}\n");
        using (var box = await Store().OpenAsync(_owner))
        {
            Assert.Equal(77u, box.UidValidity);
            var byKey = box.Entries.ToDictionary(e => e.Pop3Uidl, e => e.Uid);
            Assert.Equal(5u, byKey[D1]);
            Assert.True(byKey[D2] >= 10 && byKey[D4] >= 10); // 4 is below 5: out of order, skipped
        }
        File.Delete(Path.Combine(Maildir, UidList.FileName));
        Write(Maildir, "dovecot-uidlist", $"3 N10\n5 :{D1}\n"); // no UIDVALIDITY
        using var fresh = await Store().OpenAsync(_owner);
        Assert.NotEqual(77u, fresh.UidValidity);
        Assert.Equal([1u, 2u, 3u, 4u], fresh.Entries.Select(e => e.Uid));
    }

    [Fact]
    public async Task Killed_during_the_import_the_foreign_files_are_unchanged_and_the_import_is_redone()
    {
        CourierMaildir();
        var before = Fingerprint(Maildir);
        using (var box = await Store().OpenAsync(_owner))
            AssertCourier(box);
        // The state of a kill in step 3: keywords written, names renamed, the list only in a torn tmp;
        // and of a kill in step 2: one name not yet renamed.
        var list = Path.Combine(Maildir, UidList.FileName);
        File.Delete(list);
        File.Delete(Path.Combine(Maildir, "mailward-takeover")); // written in step 4, after the list
        await File.WriteAllTextAsync(list + ".tmp", "MWUIDLIST 2 V1234567 N11 C3\n3 PUID3-1");
        var renamed = Directory.GetFiles(Path.Combine(Maildir, "cur"), C2 + "*").Single();
        File.Move(renamed, Path.Combine(Maildir, "cur", C2 + ":2,"));
        using (var box = await Store().OpenAsync(_owner))
            AssertCourier(box);
        Assert.Equal(before, Fingerprint(Maildir));
        // A kill in step 1 or before: nothing of ours but maybe a keywords file; a first import from scratch gives the same.
        File.Delete(list);
        File.Delete(Path.Combine(Maildir, "mailward-takeover"));
        File.Delete(Path.Combine(Maildir, Keywords.FileName));
        foreach (var f in Directory.GetFiles(Path.Combine(Maildir, "cur")))
            File.Move(f, Path.Combine(Maildir, "cur", MaildirName.Parse(Path.GetFileName(f)).WithFlags(MaildirName.Parse(Path.GetFileName(f)).Flags.ToUpperInvariant())));
        using (var box = await Store().OpenAsync(_owner))
            AssertCourier(box);
        Assert.Equal(before, Fingerprint(Maildir));
    }

    [Fact]
    public async Task Killed_between_the_list_and_the_marker_the_list_stands()
    {
        CourierMaildir();
        using (await Store().OpenAsync(_owner))
        {
        }
        File.Delete(Path.Combine(Maildir, "mailward-takeover"));
        using var box = await Store().OpenAsync(_owner);
        AssertCourier(box);
    }

    [Fact]
    public async Task A_list_lost_after_the_takeover_never_imports_the_foreign_uids_again()
    {
        CourierMaildir();
        using (var box = await Store().OpenAsync(_owner))
        {
            Put(Maildir, "1600000009.M9P9.newhost,S=27"); // arrives after the takeover: UID 11
            Assert.Equal([11u], (await box.SyncAsync()).Added.Select(e => e.Uid));
            Assert.Equal(2, await box.ExpungeAsync([11u, 10u]));
        }
        Put(Maildir, "1600000010.M10P10.newhost,S=27");
        File.Delete(Path.Combine(Maildir, UidList.FileName)); // deleted by hand
        using var again = await Store().OpenAsync(_owner);
        // Importing again would give the new message 10 or 11 under UIDVALIDITY 1234567, where they meant others.
        Assert.True(again.UidValidity > 1234567u);
        Assert.Equal(["UID3-1600000000", "UID4-1600000000", "1600000010.M10P10.newhost,S=27"], again.Entries.Select(e => e.Pop3Uidl));
    }

    [Fact]
    public async Task A_garbled_list_of_ours_is_never_replaced_by_a_stale_foreign_one()
    {
        CourierMaildir();
        using (await Store().OpenAsync(_owner))
        {
        }
        await File.WriteAllTextAsync(Path.Combine(Maildir, UidList.FileName), "damaged\n");
        using var box = await Store().OpenAsync(_owner);
        Assert.NotEqual(1234567u, box.UidValidity);
        Assert.Equal([1u, 2u, 3u], box.Entries.Select(e => e.Uid));
        Assert.Equal("UID3-1600000000", box.Entries[0].Pop3Uidl); // a POP3 UIDL once kept never changes: the garbled list set aside
    }

    [Fact]
    public void A_version_1_list_has_no_P_field_and_version_2_lists_read()
    {
        var list = new UidList(9, 1);
        list.Assign("a", null);
        var v1 = Encoding.UTF8.GetString(list.Render());
        Assert.StartsWith("MWUIDLIST 1 V9 N2 C1\n1 :a\n", v1);
        list.Pop3Uidls["a"] = "UID1-5";
        var v2 = list.Render();
        Assert.StartsWith("MWUIDLIST 2 V9 N2 C1\n1 PUID1-5 :a\n", Encoding.UTF8.GetString(v2));
        Assert.Equal("UID1-5", UidList.Parse(v2)!.Pop3Uidls["a"]);
        var v1WithP = Encoding.UTF8.GetBytes("MWUIDLIST 1 V9 N2 C1\n1 PUID1-5 :a\n");
        Assert.Null(UidList.Parse([.. v1WithP, .. Encoding.ASCII.GetBytes($"END {System.IO.Hashing.Crc32.HashToUInt32(v1WithP):x8}\n")]));
    }

    [Fact]
    public async Task POP3_reports_the_same_UIDLs_after_a_takeover_from_Courier_and_from_Dovecot()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test"]);
        var joe = DeliveryTestMail.Maildir(server, "joe@hosted.test");
        Put(joe, C1 + ":2,S");
        Put(joe, C2 + ":2,");
        Put(joe, C3);
        Write(joe, "courierpop3dsizelist", $"/3 5 1600000000\n{C1}:2,S 29 3:1600000000:0\n{C2}:2, 29 4:1600000000:0\n");
        var ann = DeliveryTestMail.Maildir(server, "ann@hosted.test");
        Put(ann, D1 + ":2,S");
        Put(ann, D2 + ":2,");
        Write(ann, "dovecot-uidlist", $"3 V1500000000 N20\n5 P0000abcd :{D1}\n6 Pother-uidl :{D2}\n");
        Assert.Equal(["UID3-1600000000", "UID4-1600000000", C3], await UidlsAsync(server, "joe@hosted.test"));
        Assert.Equal(["0000abcd", "other-uidl"], await UidlsAsync(server, "ann@hosted.test"));
        Assert.Equal(["UID3-1600000000", "UID4-1600000000", C3], await UidlsAsync(server, "joe@hosted.test")); // and the next time
    }

    private static async Task<IList<string>> UidlsAsync(ServerFixture server, string user)
    {
        using var client = new Pop3Client { Timeout = 15_000 };
        await client.ConnectAsync(server.Pop3.Address.ToString(), server.Pop3.Port, SecureSocketOptions.None);
        await client.AuthenticateAsync(user, "pw");
        var uids = await client.GetMessageUidsAsync();
        await client.DisconnectAsync(true);
        return uids;
    }
}
