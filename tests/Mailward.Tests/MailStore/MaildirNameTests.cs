// MaildirName: names written by qmail, Courier, Dovecot and earlier Mailward versions parse as
// docs/mail-store.md says, their POP3 UIDLs stay what they were, and new names carry the node id so
// a delivery's crash check never matches another node's file.
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public class MaildirNameTests
{
    [Theory]
    // qmail: no sizes, no info (new/)
    [InlineData("1062009583.25893.host.example", "1062009583.25893.host.example", 1062009583L, null, null, null, "")]
    // Courier: ,S= only, in cur/ with flags
    [InlineData("1062009583.M1234P5678V0000000000000801I00001234.host,S=1234:2,RS",
        "1062009583.M1234P5678V0000000000000801I00001234.host,S=1234", 1062009583L, 1234L, null, "2,RS", "RS")]
    // Dovecot: ,S= and ,W=, keywords after the standard flags
    [InlineData("1062009583.M123P4567Q89R5e2f.host,S=1234,W=1260:2,FSab",
        "1062009583.M123P4567Q89R5e2f.host,S=1234,W=1260", 1062009583L, 1234L, 1260L, "2,FSab", "FSab")]
    // an info this parser does not know is kept, and shows no flags
    [InlineData("1062009583.x.host:1,something", "1062009583.x.host", 1062009583L, null, null, "1,something", "")]
    // no time at the start
    [InlineData("message-from-elsewhere,S=10", "message-from-elsewhere,S=10", null, 10L, null, null, "")]
    public void Foreign_names_parse(string name, string key, long? time, long? size, long? vsize, string? info, string flags)
    {
        var n = MaildirName.Parse(name);
        Assert.Equal(key, n.Key);
        Assert.Equal(time, n.Time);
        Assert.Equal(size, n.Size);
        Assert.Equal(vsize, n.VirtualSize);
        Assert.Equal(info, n.Info);
        Assert.Equal(flags, n.Flags);
    }

    [Fact]
    public void The_uidl_of_existing_mail_is_the_name_up_to_the_colon_or_the_same_digest_as_before()
    {
        // What qmail-pop3d and every earlier Mailward reported for these files.
        Assert.Equal("1062009583.25893.host.example", MaildirName.Parse("1062009583.25893.host.example:2,S").Pop3Uidl);
        Assert.Equal("1062009583.M1234P5678V0000000000000801I00001234.host,S=1234",
            MaildirName.Parse("1062009583.M1234P5678V0000000000000801I00001234.host,S=1234:2,").Pop3Uidl);
        // Over 70 characters: the first 40 hex digits of its SHA-256, as before.
        Assert.Equal("68c482eb077555df7361dcd29a26c2cd9d5b0ec7",
            MaildirName.Parse("1700000000.M0190a1b2c3d4e5f6R0T0.a-very-long-host-name.with.many.labels.example.com,S=1234,W=1260:2,S").Pop3Uidl);
        // Flags never change it.
        var n = MaildirName.Parse("1700000000.M1P1.mail.test,S=5,W=6");
        Assert.Equal(n.Pop3Uidl, MaildirName.Parse(n.WithFlags("TSR")).Pop3Uidl);
        Assert.Equal("1700000000.M1P1.mail.test,S=5,W=6:2,RST", n.WithFlags("TSR"));
    }

    [Fact]
    public void New_names_carry_the_node_id_without_dots_slashes_colons_or_commas()
    {
        var at = DateTimeOffset.FromUnixTimeSeconds(1700000000);
        Assert.Equal("1700000000.M0123R1T2Nnode-a", MaildirName.DeliveryBase(at, "0123", 1, 2, "node-a"));
        Assert.Equal("mx1_2eexample_2ecom_2c_3a_2f", MaildirName.EncodeNodeId("mx1.example.com,:/"));
        Assert.NotEqual(MaildirName.DeliveryBase(at, "0123", 0, 0, "a"), MaildirName.DeliveryBase(at, "0123", 0, 0, "b"));
        var name = MaildirName.Parse(MaildirName.Delivered(MaildirName.DeliveryBase(at, "0123", 0, 0, "mx1.example.com"), MaildirName.HostPart("mail:x/y"), 100, 104));
        Assert.Equal("1700000000.M0123R0T0Nmx1_2eexample_2ecom.mail\\072x\\057y,S=100,W=104", name.Name);
        Assert.Equal(1700000000, name.Time);
        Assert.Equal(100, name.Size);
        Assert.Equal(104, name.VirtualSize);
    }

    [Fact]
    public void A_delivery_counts_only_its_own_nodes_earlier_file_as_done()
    {
        using var dir = new TempFolder();
        var maildir = dir.Combine("Maildir");
        var at = DateTimeOffset.FromUnixTimeSeconds(1700000000);
        var a = MaildirName.DeliveryBase(at, "0123", 0, 0, "node-a");
        var b = MaildirName.DeliveryBase(at, "0123", 0, 0, "node-b");
        var legacy = MaildirName.LegacyDeliveryBase(at, "0123", 0, 0);
        using (var body = new MemoryStream("Subject: x\r\n\r\nbody\r\n"u8.ToArray()))
            MaildirWriter.Deliver(maildir, a, "mail.test", "s@remote.test", "joe@hosted.test", body);
        Assert.True(MaildirWriter.AlreadyDelivered(maildir, a, legacy, "mail.test"));
        Assert.False(MaildirWriter.AlreadyDelivered(maildir, b, legacy, "mail.test")); // the same host name, another node

        // A file from before node ids counts for the node whose Hostname wrote it, and no other.
        using (var body = new MemoryStream("Subject: y\r\n\r\nbody\r\n"u8.ToArray()))
            MaildirWriter.Deliver(maildir, MaildirName.LegacyDeliveryBase(at, "0456", 0, 0), "old.test", "s@remote.test", "joe@hosted.test", body);
        var legacy2 = MaildirName.LegacyDeliveryBase(at, "0456", 0, 0);
        Assert.True(MaildirWriter.AlreadyDelivered(maildir, MaildirName.DeliveryBase(at, "0456", 0, 0, "node-a"), legacy2, "old.test"));
        Assert.False(MaildirWriter.AlreadyDelivered(maildir, MaildirName.DeliveryBase(at, "0456", 0, 0, "node-a"), legacy2, "mail.test"));
    }
}
