// Backscatter (issue 18, item 4), performed by a stranger on 127.0.0.9 with a forged sender: what
// delivery would refuse for sure is refused before the 250 (a loop's Delivered-To line, a
// bounce-mail mailbox, a mailbox over quota), so no bounce goes to the forged address; and a bounce
// that still happens carries at most Delivery:BounceHeaderBytes of the original header.
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Delivery;

public class BackscatterTests
{
    private const string Forged = "MAIL FROM:<victim@remote.test>";

    [Fact]
    public async Task A_message_that_already_carries_Delivered_To_for_its_recipient_is_refused_before_the_250()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test"]);
        await using var talk = await SmtpTalk.OpenAsync(server);
        Assert.Equal(["250 2.1.0 Ok", "250 2.1.5 Ok", "250 2.1.5 Ok"], await talk.PipelineAsync([Forged, "RCPT TO:<ann@hosted.test>", "RCPT TO:<joe@hosted.test>"]));
        Assert.Equal("554 5.4.6 Error: mail loop: the message already carries Delivered-To: joe@hosted.test; discarded",
            await talk.DataAsync("Delivered-To: someone@else.test\r\nDelivered-To: JOE@hosted.test\r\nSubject: loop\r\n\r\nbody\r\n"));
        // In the body, or naming someone else, it is no loop.
        Assert.Equal(["250 2.1.0 Ok", "250 2.1.5 Ok"], await talk.PipelineAsync([Forged, "RCPT TO:<joe@hosted.test>"]));
        Assert.StartsWith("250 2.0.0 Ok: queued as ",
            await talk.DataAsync("Delivered-To: ann@hosted.test\r\nSubject: fine\r\n\r\nDelivered-To: joe@hosted.test\r\n"));
        Assert.Single(server.Messages);
    }

    [Fact]
    public async Task A_bounce_mail_mailbox_is_refused_at_RCPT()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "flags joe@hosted.test bounce-mail", "user ann@hosted.test"]);
        await using var talk = await SmtpTalk.OpenAsync(server);
        Assert.Equal(["250 2.1.0 Ok", "550 5.2.1 <joe-x@hosted.test>: Recipient address rejected: mailbox disabled", "250 2.1.5 Ok"],
            await talk.PipelineAsync([Forged, "RCPT TO:<joe-x@hosted.test>", "RCPT TO:<ann@hosted.test>"]));
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await talk.DataAsync("Subject: hi\r\n\r\nhi\r\n"));
        Assert.Equal(["ann@hosted.test"], Assert.Single(server.Messages).Envelope.Recipients);
    }

    [Fact]
    public async Task A_mailbox_over_quota_is_refused_at_RCPT_or_at_DATA_but_small_notices_still_pass()
    {
        var fill = new string('x', 3500);
        await using var server = await ServerFixture.StartAsync(
            ["user q@hosted.test", "user r@hosted.test", $"mail q@hosted.test 1.fill Subject: fill\\n\\n{fill}\\n", $"mail r@hosted.test 1.fill Subject: fill\\n\\n{fill}\\n"]);
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        store.UpdateUser(store.FindUser("q", "hosted.test")! with { Quota = new Quota(5000, 0) }); // 3.5 KB used: room for 1.5 KB
        store.UpdateUser(store.FindUser("r", "hosted.test")! with { Quota = new Quota(3000, 0) }); // already over
        store.Dispose();
        await Task.Delay(1100); // the server's cache sees the change within a second
        await using var talk = await SmtpTalk.OpenAsync(server);

        // SIZE says it will not fit; a full mailbox refuses any size it does not know.
        Assert.Equal(["250 2.1.0 Ok", "552 5.2.2 <q@hosted.test>: Recipient address rejected: mailbox full"],
            await talk.PipelineAsync([Forged + " SIZE=3000", "RCPT TO:<q@hosted.test>"]));
        Assert.StartsWith("554 5.5.1 ", await talk.SendAsync("DATA")); // no valid recipients: nothing to bounce later
        Assert.Equal(["250 2.0.0 Ok", "250 2.1.0 Ok", "552 5.2.2 <r@hosted.test>: Recipient address rejected: mailbox full", "250 2.1.5 Ok"],
            await talk.PipelineAsync(["RSET", Forged, "RCPT TO:<r@hosted.test>", "RCPT TO:<q@hosted.test>"]));
        // No SIZE: the size is known after DATA, and the message is refused before the 250.
        Assert.Equal("552 5.2.2 Error: every recipient's mailbox is full for a message this size; discarded",
            await talk.DataAsync("Subject: big\r\n\r\n" + new string('y', 3000) + "\r\n"));
        // Notices of 1 KB or less still reach a mailbox with some room (vpopmail's rule).
        Assert.Equal(["250 2.1.0 Ok", "250 2.1.5 Ok"], await talk.PipelineAsync([Forged + " SIZE=300", "RCPT TO:<q@hosted.test>"]));
        Assert.StartsWith("250 2.0.0 Ok: queued as ", await talk.DataAsync("Subject: small\r\n\r\nhi\r\n"));
        Assert.Single(server.Messages);
    }

    [Fact]
    public async Task A_bounce_carries_at_most_BounceHeaderBytes_of_the_original_header()
    {
        await using var server = await ServerFixture.StartAsync(
            ["user me@hosted.test", "alias gone@hosted.test |echo no such list; exit 100"],
            "--Delivery:Enabled=true", "--Delivery:ProgramDomains=hosted.test");
        var header = new StringBuilder("Subject: junk\r\n");
        for (var i = 0; i < 300; i++)
            header.Append($"X-Junk-{i:D3}: {new string('j', 90)}\r\n");
        await using (var talk = await SmtpTalk.OpenAsync(server))
        {
            Assert.Equal(["250 2.1.0 Ok", "250 2.1.5 Ok"], await talk.PipelineAsync(["MAIL FROM:<me@hosted.test>", "RCPT TO:<gone@hosted.test>"]));
            Assert.StartsWith("250 2.0.0 Ok: queued as ", await talk.DataAsync(header + "\r\nbody\r\n"));
        }
        await DeliveryTestMail.SettleAsync(server);
        var file = Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, "me@hosted.test")));
        var dsn = await MimeMessage.LoadAsync(file);
        var original = Assert.IsType<TextRfc822Headers>(Assert.IsType<MultipartReport>(dsn.Body)[2]);
        using var copy = new MemoryStream();
        await original.Message!.Headers.WriteToAsync(copy);
        Assert.InRange(copy.Length, 1000, 4096);
        Assert.Equal("junk", original.Message.Subject); // the fields that identify the message come first
        Assert.DoesNotContain(original.Message.Headers, h => h.Field == "X-Junk-299");
        Assert.True(new FileInfo(file).Length < 8192, $"the bounce is {new FileInfo(file).Length} bytes");
    }
}
