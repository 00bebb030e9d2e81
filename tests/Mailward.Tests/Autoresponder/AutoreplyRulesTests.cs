// RFC 3834 §2 over real sockets (docs/autoresponder.md, "When an answer is sent"): joe@hosted.test
// is away; each case sends one message with SMTP to the running server, lets delivery run, and
// checks whether an answer reached the sink MTA that remote.test is routed to, and the reason the
// log gives when none did. The mail itself is delivered in every case.
using System.Text;
using Mailward.Tests.Support;
using MimeKit;
using static Mailward.Tests.Autoresponder.AutoresponderTestMail;

namespace Mailward.Tests.Autoresponder;

public class AutoreplyRulesTests
{
    [Theory]
    // §2: never to a null address.
    [InlineData("", "", "joe@hosted.test", "null sender")]
    // §2, §5: Auto-Submitted other than "no".
    [InlineData("friend@remote.test", "Auto-Submitted: auto-generated", "joe@hosted.test", "Auto-Submitted: auto-generated")]
    [InlineData("friend@remote.test", "Auto-Submitted: auto-replied", "joe@hosted.test", "Auto-Submitted: auto-replied")]
    [InlineData("friend@remote.test", "Auto-Submitted: auto-notified; owner-email=x@remote.test", "joe@hosted.test", "Auto-Submitted: auto-notified")]
    // §2: Precedence bulk, list, junk.
    [InlineData("friend@remote.test", "Precedence: bulk", "joe@hosted.test", "Precedence: bulk")]
    [InlineData("friend@remote.test", "Precedence: List", "joe@hosted.test", "Precedence: list")]
    [InlineData("friend@remote.test", "Precedence: junk", "joe@hosted.test", "Precedence: junk")]
    // RFC 2369, 2919: any List-* field.
    [InlineData("friend@remote.test", "List-Id: <team.remote.test>", "joe@hosted.test", "List-* field")]
    [InlineData("friend@remote.test", "List-Unsubscribe: <mailto:team-unsubscribe@remote.test>", "joe@hosted.test", "List-* field")]
    // §2: addressed to the person in To or Cc; a Bcc copy (another To) is not.
    [InlineData("friend@remote.test", "", "someone@remote.test", "not addressed in To or Cc")]
    // From the address itself, or one of its names.
    [InlineData("joe@hosted.test", "", "joe@hosted.test", "sent by the address itself")]
    [InlineData("JOE@alias.test", "", "joe@hosted.test", "sent by the address itself")]
    // List managers and mail systems.
    [InlineData("MAILER-DAEMON@remote.test", "", "joe@hosted.test", "list or system sender")]
    [InlineData("owner-team@remote.test", "", "joe@hosted.test", "list or system sender")]
    [InlineData("team-request@remote.test", "", "joe@hosted.test", "list or system sender")]
    public async Task No_answer(string sender, string extraHeader, string to, string reason)
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "vacation", "set", "joe@hosted.test", "--text", "I am away.");
        await SendAsync(server, sender, "joe@hosted.test", Header(extraHeader, to));
        await SettleAsync(server);
        Assert.Equal(1, NewMail(server, "joe@hosted.test")); // delivered all the same
        Assert.Empty(sink.Received);
        Assert.Empty(Lines(server, "autoreply id="));
        var skipped = Assert.Single(Lines(server, "autoreply skipped "));
        Assert.EndsWith("reason=" + reason, skipped);
    }

    [Theory]
    [InlineData("", "joe@hosted.test")]
    [InlineData("Auto-Submitted: no", "joe@hosted.test")]
    [InlineData("Precedence: first-class", "joe@hosted.test")]
    [InlineData("Cc: Joe <joe@hosted.test>", "someone@remote.test")]
    [InlineData("", "Joe <JOE@ALIAS.TEST>")] // its alias domain's name
    [InlineData("", "sales@hosted.test")] // an alias that only forwards to joe
    public async Task An_answer_goes_from_the_null_sender_with_the_rfc_3834_fields(string extraHeader, string to)
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "vacation", "set", "joe@hosted.test", "--text", "I am away.\nBack on Monday.");
        await SendAsync(server, "friend@remote.test", "joe@hosted.test", Header(extraHeader, to));
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        var mail = Assert.Single(sink.Received);
        Assert.Equal("", mail.Sender); // MAIL FROM:<> (§3.3)
        Assert.Equal(["friend@remote.test"], mail.Recipients);
        var reply = MimeMessage.Load(new MemoryStream(mail.Data));
        Assert.Equal("joe@hosted.test", Assert.Single(reply.From.Mailboxes).Address);
        Assert.Equal("friend@remote.test", Assert.Single(reply.To.Mailboxes).Address);
        Assert.Equal("Auto: lunch?", reply.Subject);
        Assert.Equal("auto-replied", reply.Headers["Auto-Submitted"]);
        Assert.Equal("orig-1@remote.test", reply.InReplyTo);
        Assert.Equal(["older@remote.test", "orig-1@remote.test"], reply.References);
        Assert.Equal("I am away.\nBack on Monday.", reply.TextBody!.ReplaceLineEndings("\n").TrimEnd());
        Assert.Single(Lines(server, "autoreply id="));
        Assert.Equal(1, NewMail(server, "joe@hosted.test"));
    }

    [Fact]
    public async Task Non_ascii_text_and_subject_are_mime_encoded_and_a_missing_subject_takes_the_stored_one()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "vacation", "set", "joe@hosted.test", "--text", "Je suis en congé jusqu'à lundi. 休暇中です。", "--subject", "Absent — congé");
        await SendAsync(server, "friend@remote.test", "joe@hosted.test",
            "From: friend@remote.test\r\nTo: joe@hosted.test\r\nMessage-ID: <no-subject@remote.test>");
        await sink.WaitForAsync(1);
        var raw = Assert.Single(sink.Received).Data;
        Assert.All(raw, b => Assert.True(b < 128, "the answer is 7-bit: encoded words and quoted-printable"));
        var text = Encoding.ASCII.GetString(raw);
        var subjectLine = text.Split("\r\n").Single(l => l.StartsWith("Subject: ", StringComparison.Ordinal));
        Assert.StartsWith("Subject: Auto: ", subjectLine);
        Assert.Contains("=?utf-8?", subjectLine, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("Content-Transfer-Encoding: quoted-printable", text);
        Assert.Contains("charset=utf-8", text);
        var reply = MimeMessage.Load(new MemoryStream(raw));
        Assert.Equal("Auto: Absent — congé", reply.Subject);
        Assert.Equal("Je suis en congé jusqu'à lundi. 休暇中です。", reply.TextBody!.TrimEnd());
        Assert.Equal(["no-subject@remote.test"], reply.References);
    }

    [Fact]
    public async Task An_alias_address_answers_and_with_no_deliver_keeps_nothing()
    {
        await using var sink = new TestMta();
        await using var server = await StartAsync(sink);
        await CliAsync(server, "vacation", "set", "sales@hosted.test", "--text", "Sales is closed.", "--no-deliver");
        await SendAsync(server, "friend@remote.test", "sales@hosted.test", Header(to: "sales@hosted.test"));
        await sink.WaitForAsync(1);
        await SettleAsync(server);
        var reply = MimeMessage.Load(new MemoryStream(Assert.Single(sink.Received).Data));
        Assert.Equal("sales@hosted.test", Assert.Single(reply.From.Mailboxes).Address);
        Assert.Equal(0, NewMail(server, "joe@hosted.test")); // the alias's line (joe) was not followed
        // Turned off, the alias forwards again and answers nothing.
        Assert.Contains("autoresponder removed", await CliAsync(server, "vacation", "off", "sales@hosted.test"));
        await SendAsync(server, "other@remote.test", "sales@hosted.test", Header(to: "sales@hosted.test"));
        await SettleAsync(server);
        Assert.Equal(1, NewMail(server, "joe@hosted.test"));
        Assert.Single(sink.Received);
    }
}
