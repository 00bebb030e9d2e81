// Local delivery end to end: mail sent over SMTP lands in the right Maildir with Return-Path and
// Delivered-To added, LF line ends and ,S=/,W= sizes in its name, and leaves the queue; extension
// addresses, aliases, alias domains, catch-alls and forwards resolve as qmail-local and
// vdelivermail did; a forwarding loop ends instead of storming.
using System.Text;
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Core.Accounts;
using Mailward.Tests.Smtp;
using MimeKit;

namespace Mailward.Tests.Delivery;

public class LocalDeliveryTests
{
    private static Task SendAsync(ServerFixture server, string to, string subject, string text = "hello", string from = "sender@remote.test") =>
        DeliveryTestMail.SendAsync(server, to, subject, text, from);

    private static string Maildir(ServerFixture server, string address) => DeliveryTestMail.Maildir(server, address);

    private static string[] NewMail(string maildir) => DeliveryTestMail.NewMail(maildir);

    private static Task SettleAsync(ServerFixture server, int left = 0) => DeliveryTestMail.SettleAsync(server, left);


    [Fact]
    public async Task Mail_for_a_user_lands_in_its_Maildir_with_trace_headers_and_leaves_the_queue()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Delivery:Enabled=true");
        await SendAsync(server, "Joe@Hosted.test", "Grüße", "Zeile eins\r\n.zwei\r\n");
        await SettleAsync(server);
        var file = Assert.Single(NewMail(Maildir(server, "joe@hosted.test")));
        var bytes = await File.ReadAllBytesAsync(file);
        var text = Encoding.UTF8.GetString(bytes);
        Assert.StartsWith("Return-Path: <sender@remote.test>\nDelivered-To: joe@hosted.test\nReceived: from ", text);
        Assert.DoesNotContain("\r", text);
        Assert.Contains("Zeile eins\n.zwei\n", text);
        Assert.Contains("Subject: =?", text); // MimeKit encodes the 8-bit subject
        var lf = bytes.Count(b => b == (byte)'\n');
        Assert.EndsWith($",S={bytes.Length},W={bytes.Length + lf}", Path.GetFileName(file));
        Assert.Empty(Directory.GetFiles(Path.Combine(Maildir(server, "joe@hosted.test"), "tmp")));
        Assert.Contains(server.Log, l => l.Contains("to=<joe@hosted.test> channel=local result=delivered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Extensions_aliases_alias_domains_catch_alls_and_forwards_resolve()
    {
        var archive = Path.Combine(Path.GetTempPath(), "mailward-tests", "archive-" + Guid.NewGuid().ToString("N")[..8], "Maildir");
        await using var server = await ServerFixture.StartAsync(
        [
            "user joe@hosted.test", "user ann@hosted.test",
            "alias team@hosted.test &joe@hosted.test", "alias team@hosted.test &ann@hosted.test",
            $"alias archive@hosted.test {archive}/",
            "aliasdomain other.test hosted.test",
            "user box@catch.test", "catchall catch.test mailbox:box",
            "domain drop.test", "catchall drop.test delete",
            "domain fwd.test", "catchall fwd.test forward:ann@hosted.test",
        ], "--Delivery:Enabled=true", $"--Delivery:AllowedExternalPaths={Path.GetDirectoryName(archive)}");
        await SendAsync(server, "joe-news@hosted.test", "extension -");
        await SendAsync(server, "joe+list@hosted.test", "extension +");
        await SendAsync(server, "ann@other.test", "alias domain");
        await SendAsync(server, "team@hosted.test", "alias forwards to two users");
        await SendAsync(server, "archive@hosted.test", "alias to a Maildir path");
        await SendAsync(server, "whoever@catch.test", "catch-all mailbox");
        await SendAsync(server, "whoever@drop.test", "catch-all delete");
        await SendAsync(server, "whoever@fwd.test", "catch-all forward");
        await SettleAsync(server);

        Assert.Equal(3, NewMail(Maildir(server, "joe@hosted.test")).Length); // -news, +list, team
        Assert.Equal(3, NewMail(Maildir(server, "ann@hosted.test")).Length); // alias domain, team, catch-all forward
        Assert.Contains(server.Log, l => l.Contains("to=<whoever@drop.test> channel=local result=delivered detail=discarded by the catch-all", StringComparison.Ordinal));
        Assert.Single(NewMail(Maildir(server, "box@catch.test")));
        var archived = Assert.Single(NewMail(archive));
        Assert.Contains("Delivered-To: archive@hosted.test\n", await File.ReadAllTextAsync(archived));
        var team = NewMail(Maildir(server, "joe@hosted.test")).Select(File.ReadAllText).Single(t => t.Contains("Subject: alias forwards", StringComparison.Ordinal));
        // The forward went through the queue again: its own Delivered-To for the alias, then the user's.
        Assert.StartsWith("Return-Path: <sender@remote.test>\nDelivered-To: joe@hosted.test\nDelivered-To: team@hosted.test\n", team);
        Directory.Delete(Path.GetDirectoryName(archive)!, recursive: true);
    }

    [Fact]
    public async Task A_forwarding_loop_ends_in_one_bounce_not_a_storm()
    {
        await using var server = await ServerFixture.StartAsync(
            ["user me@hosted.test", "alias a@hosted.test &b@hosted.test", "alias b@hosted.test &a@hosted.test"], "--Delivery:Enabled=true");
        await SendAsync(server, "a@hosted.test", "loop", from: "me@hosted.test");
        await SettleAsync(server);
        // a -> b -> a: the message from SMTP and two forwards, then the loop check stops it.
        Assert.Equal(2, server.Log.Count(l => l.Contains("forwarded to", StringComparison.Ordinal)));
        Assert.Contains(server.Log, l => l.Contains("result=failed detail=looping", StringComparison.Ordinal));
        var dsn = MimeMessage.Load(Assert.Single(NewMail(Maildir(server, "me@hosted.test"))));
        Assert.Equal("failure notice", dsn.Subject);
        var report = Assert.IsType<MultipartReport>(dsn.Body);
        var status = Assert.IsType<MessageDeliveryStatus>(report[1]);
        Assert.Equal("failed", status.StatusGroups[1]["Action"]);
        Assert.Equal("5.4.6", status.StatusGroups[1]["Status"]);
        Assert.Equal("rfc822; a@hosted.test", status.StatusGroups[1]["Final-Recipient"]);
    }

    [Fact]
    public async Task The_bounce_all_flag_refuses_delivery_and_the_sender_gets_a_DSN()
    {
        // SMTP refuses such a mailbox at RCPT (BackscatterTests); a forward reaches it only at delivery.
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user me@hosted.test", "alias fw@hosted.test &joe@hosted.test"],
            "--Delivery:Enabled=true");
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        store.UpdateUser(store.FindUser("joe", "hosted.test")! with { Flags = UserFlags.BounceMail });
        store.Dispose();
        await Task.Delay(1100); // the server's cache re-reads the store's change counter within a second
        await SendAsync(server, "fw@hosted.test", "refused", from: "me@hosted.test");
        await SettleAsync(server);
        Assert.Empty(NewMail(Maildir(server, "joe@hosted.test")));
        Assert.Contains(server.Log, l => l.Contains("result=failed detail=this mailbox refuses all mail", StringComparison.Ordinal));
        var dsn = await File.ReadAllTextAsync(Assert.Single(NewMail(Maildir(server, "me@hosted.test"))));
        Assert.StartsWith("Return-Path: <>\n", dsn);
        Assert.Contains("<joe@hosted.test>:\nthis mailbox refuses all mail", dsn);
        Assert.Contains("Subject: refused", dsn); // the original headers come back
    }

    [Fact]
    public async Task Over_quota_bounces_with_the_domains_text_but_small_notices_still_arrive()
    {
        // SMTP refuses mail for a full mailbox before the 250 (BackscatterTests); a forward meets the quota at delivery.
        await using var server = await ServerFixture.StartAsync(["user q@hosted.test", "user me@hosted.test", "alias fq@hosted.test &q@hosted.test"],
            "--Delivery:Enabled=true");
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        store.UpdateUser(store.FindUser("q", "hosted.test")! with { Quota = new Quota(4000, 0) });
        var domainDir = Path.Combine(server.DataPath, "domains", store.FindDomain("hosted.test")!.Directory);
        store.Dispose();
        await File.WriteAllTextAsync(Path.Combine(domainDir, ".over-quota.msg"), "Q's mailbox is full; call the help desk.\n");
        await Task.Delay(1100); // the server's cache sees the change within a second

        var big = new string('x', 2500);
        await SendAsync(server, "q@hosted.test", "first fits", big, from: "me@hosted.test");
        await SettleAsync(server);
        await SendAsync(server, "fq@hosted.test", "second does not", big, from: "me@hosted.test");
        await SettleAsync(server);
        await SendAsync(server, "q@hosted.test", "tiny notice", "hi", from: "me@hosted.test");
        await SettleAsync(server);

        var inbox = NewMail(Maildir(server, "q@hosted.test")).Select(File.ReadAllText).ToList();
        Assert.Equal(2, inbox.Count);
        Assert.Contains(inbox, t => t.Contains("Subject: first fits", StringComparison.Ordinal));
        Assert.Contains(inbox, t => t.Contains("Subject: tiny notice", StringComparison.Ordinal));
        var dsn = await File.ReadAllTextAsync(Assert.Single(NewMail(Maildir(server, "me@hosted.test"))));
        Assert.Contains("Q's mailbox is full; call the help desk.", dsn);
        Assert.Contains("Status: 5.2.2", dsn);
        // maildirsize tracks both deliveries: the quota line, then one line per message.
        var sizes = await File.ReadAllLinesAsync(Path.Combine(Maildir(server, "q@hosted.test"), "maildirsize"));
        Assert.Equal("4000S", sizes[0]);
        Assert.Equal(2, sizes.Skip(1).Sum(l => long.Parse(l.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task Program_lines_follow_qmail_exit_codes_and_mbox_lines_append()
    {
        var dir = Path.Combine(Path.GetTempPath(), "mailward-tests", "prog-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        await using var server = await ServerFixture.StartAsync(
        [
            "user me@hosted.test",
            $"alias p0@hosted.test |echo \"$SENDER|$RECIPIENT|$LOCAL|$HOST|$EXT\" > {dir}/env; cat > {dir}/p0",
            $"alias p0@hosted.test {dir}/mbox0",
            $"alias p99@hosted.test |exit 99",
            $"alias p99@hosted.test {dir}/mbox99",
            "alias p100@hosted.test |echo no such list; exit 100",
            "alias p111@hosted.test |echo list busy; exit 111",
            "domain other.test", "alias p@other.test |cat > /dev/null",
        ], "--Delivery:Enabled=true", "--Delivery:ProgramDomains=hosted.test", $"--Delivery:AllowedExternalPaths={dir}");
        await SendAsync(server, "p0-x@hosted.test", "zero", "From here on\r\nline two", from: "me@hosted.test");
        await SendAsync(server, "p99@hosted.test", "ninety-nine", from: "me@hosted.test");
        await SendAsync(server, "p100@hosted.test", "hundred", from: "me@hosted.test");
        await SendAsync(server, "p@other.test", "not allowed", from: "me@hosted.test");
        await SendAsync(server, "p111@hosted.test", "one-eleven", from: "me@hosted.test");
        await SettleAsync(server, left: 1);

        Assert.Equal("me@hosted.test|p0-x@hosted.test|p0-x|hosted.test|x\n", await File.ReadAllTextAsync(Path.Combine(dir, "env")));
        var piped = await File.ReadAllTextAsync(Path.Combine(dir, "p0"));
        Assert.Contains("Subject: zero\n", piped);
        Assert.DoesNotContain("\r", piped);
        var mbox = await File.ReadAllTextAsync(Path.Combine(dir, "mbox0"));
        Assert.StartsWith("From me@hosted.test ", mbox);
        Assert.Contains("\nReturn-Path: <me@hosted.test>\nDelivered-To: p0-x@hosted.test\n", mbox);
        Assert.Contains("\n>From here on\n", mbox); // mboxrd quoting
        Assert.EndsWith("\n\n", mbox); // a blank line before the next separator
        Assert.False(File.Exists(Path.Combine(dir, "mbox99"))); // 99 ended processing
        var held = Assert.Single(server.Manager.Status());
        Assert.Equal("p111@hosted.test", held.Recipients[0].Address);
        Assert.Contains("list busy", held.Recipients[0].LastError);
        var bounces = NewMail(Maildir(server, "me@hosted.test")).Select(File.ReadAllText).ToList();
        Assert.Equal(2, bounces.Count);
        Assert.Contains(bounces, b => b.Contains("<p100@hosted.test>:\nno such list", StringComparison.Ordinal));
        Assert.Contains(bounces, b => b.Contains("delivery to programs is not enabled for other.test", StringComparison.Ordinal));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_retried_alias_counts_its_delivered_Maildir_line_done_instead_of_bouncing_it()
    {
        // Issue 18, item 11: a Maildir line delivered, a later line deferred; the retry used to find
        // its own file "already exists" and fail until Queue:Lifetime, then bounce mail that had arrived.
        var dir = Path.Combine(Path.GetTempPath(), "mailward-tests", "retry-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user me@hosted.test"],
            "--Delivery:Enabled=true", "--Delivery:ProgramDomains=hosted.test");
        var joe = Maildir(server, "joe@hosted.test");
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        var domain = store.FindDomain("hosted.test")!.Id;
        store.AddAliasLine(domain, "both", joe + "/");
        // EX_TEMPFAIL (75) the first time, success after.
        store.AddAliasLine(domain, "both", $"|if [ -e {dir}/once ]; then exit 0; fi; touch {dir}/once; exit 75");
        store.Dispose();
        await Task.Delay(1100); // the server's cache sees the change within a second

        await SendAsync(server, "both@hosted.test", "twice?", from: "me@hosted.test");
        for (var i = 0; i < 200 && server.Manager.Status() is not [{ Recipients: [{ State: "pending", NextAttempt: not null }] }]; i++)
            await Task.Delay(50);
        Assert.Contains("exit 75", Assert.Single(Assert.Single(server.Manager.Status()).Recipients).LastError, StringComparison.Ordinal);
        Assert.Single(NewMail(joe));

        server.Manager.Flush(); // the retry, now
        await SettleAsync(server);
        Assert.Single(NewMail(joe));
        Assert.Empty(NewMail(Maildir(server, "me@hosted.test"))); // no bounce
        Directory.Delete(dir, recursive: true);
    }
}
