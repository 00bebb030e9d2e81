// Who may use which envelope sender, over submission with MailKit (issue 18, item 10): a forward
// does not confer identity, so an alias in another tenant's domain that delivers to a user does not
// let that user send as it; an alias of the user's own domain (or its alias domain) does.
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Mailward.Tests.Smtp;

public class SenderOwnershipTests
{
    private static MimeMessage Message(string from, string to)
    {
        var m = new MimeMessage();
        m.From.Add(MailboxAddress.Parse(from));
        m.To.Add(MailboxAddress.Parse(to));
        m.Subject = "identity";
        m.Body = new TextPart("plain") { Text = "hello" };
        return m;
    }

    [Fact]
    public async Task An_alias_in_another_tenants_domain_that_forwards_to_a_user_is_not_that_users_sender()
    {
        await using var server = await ServerFixture.StartAsync(
            ["user joe@hosted.test", "domain other.test",
             "alias boss@other.test &joe@hosted.test", "alias sales@hosted.test &joe@hosted.test", "aliasdomain alias.test hosted.test"]);
        using var c = new SmtpClient { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000 };
        await c.ConnectAsync(server.Submission.Address.ToString(), server.Submission.Port, SecureSocketOptions.StartTls);
        await c.AuthenticateAsync("joe@hosted.test", "pw");

        // The attack: other.test's admin (or joe, on a domain he administers) forwards boss@other.test to joe.
        var e = await Assert.ThrowsAsync<SmtpCommandException>(() => c.SendAsync(Message("boss@other.test", "far@remote.test")));
        Assert.Equal(SmtpErrorCode.SenderNotAccepted, e.ErrorCode);
        Assert.Contains("not owned by user joe@hosted.test", e.Message);

        await c.SendAsync(Message("sales@hosted.test", "far@remote.test")); // an alias of joe's own domain
        await c.SendAsync(Message("sales@alias.test", "far@remote.test"));  // the same alias under the alias domain
        Assert.Equal(2, server.Queue.Messages.Count);
        Assert.All(server.Queue.Messages, m => Assert.StartsWith("sales@", m.Envelope.Sender, StringComparison.Ordinal));
    }
}
