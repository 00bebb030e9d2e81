// qmail-inject's part of sendmail: recipients from the header for -t, Bcc removed, Date,
// Message-ID and From added only when missing, CRLF line ends; and the sender rule.
using System.Text;
using Mailward.Core.Sendmail;

namespace Mailward.Tests.Sendmail;

public sealed class LocalMessageTests
{
    private static readonly SendmailOptions Options = new("mail.test", "hosted.test", 1 << 20, new SendmailRules("*", "", serverUid: 500));

    private static SendmailRequest Request(string message, SendmailFlags flags = SendmailFlags.None, string sender = "", uint uid = 33,
        string login = "www-data", params string[] rcpts) =>
        new(SendmailRequest.NewId(DateTimeOffset.UtcNow), DateTimeOffset.FromUnixTimeSeconds(1_700_000_000), uid, login, flags, sender, "Web Site", rcpts,
            Encoding.UTF8.GetBytes(message));

    private static (PreparedSubmission P, string Text) Prepare(SendmailRequest r)
    {
        Assert.Null(SendmailIntake.Prepare(r, Options, out var p));
        return (p!, Encoding.Latin1.GetString(p!.Message));
    }

    [Fact]
    public void Dash_t_takes_To_Cc_and_Bcc_removes_Bcc_and_completes_the_header()
    {
        var (p, text) = Prepare(Request("To: Joe <joe@hosted.test>, far@remote.test\nCc: ann\nBcc: hidden@remote.test\nSubject: hi\n\nline 1\nline 2\n",
            SendmailFlags.RecipientsFromHeader));
        Assert.Equal(["joe@hosted.test", "far@remote.test", "ann@hosted.test", "hidden@remote.test"], p.Envelope.Recipients);
        Assert.DoesNotContain("Bcc", text);
        Assert.DoesNotContain("hidden", text);
        Assert.Contains("From: Web Site <www-data@hosted.test>\r\n", text);
        Assert.Contains("Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n", text);
        Assert.Matches(@"Message-ID: <[0-9A-Z]{26}@mail\.test>\r\n", text);
        Assert.EndsWith("\r\n\r\nline 1\r\nline 2\r\n", text);
        Assert.DoesNotMatch("(?<!\r)\n", text); // every line ends CRLF
        Assert.Equal("www-data@hosted.test", p.Envelope.Sender);
        Assert.Equal("local", p.Envelope.Protocol);
    }

    [Fact]
    public void Fields_the_message_has_are_kept_as_they_are()
    {
        var (_, text) = Prepare(Request("From: me@remote.test\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nbody", rcpts: "joe@hosted.test"));
        Assert.Equal(1, text.Split("From:").Length - 1);
        Assert.Contains("Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n", text);
        Assert.Contains("Message-ID: <x@y>\r\n", text);
        Assert.EndsWith("\r\n\r\nbody\r\n", text);
    }

    [Fact]
    public void Sender_is_honoured_for_trusted_users_only()
    {
        var trusted = Prepare(Request("Subject: s\n\n", SendmailFlags.SenderGiven, "boss@hosted.test", uid: 0, login: "root", rcpts: "joe@hosted.test"));
        Assert.Equal("boss@hosted.test", trusted.P.Envelope.Sender);
        var server = Prepare(Request("Subject: s\n\n", SendmailFlags.SenderGiven, "<>", uid: 500, login: "mailward", rcpts: "joe@hosted.test"));
        Assert.Equal("", server.P.Envelope.Sender);
        var other = Prepare(Request("Subject: s\n\n", SendmailFlags.SenderGiven, "boss@hosted.test", rcpts: "joe@hosted.test"));
        Assert.Equal("www-data@hosted.test", other.P.Envelope.Sender);
        Assert.Contains(other.P.Warnings, w => w.Contains("may not set the sender", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("bad address@@", SendmailExit.NoUser)]
    [InlineData("joe@-bad-.test", SendmailExit.NoUser)]
    public void A_bad_recipient_is_EX_NOUSER(string rcpt, int code)
    {
        Assert.Equal(code, SendmailIntake.Prepare(Request("Subject: s\n\n", rcpts: rcpt), Options, out _)!.ExitCode);
    }

    [Fact]
    public void No_recipient_is_EX_USAGE_an_unreadable_To_is_EX_DATAERR_and_a_stranger_is_EX_NOPERM()
    {
        Assert.Equal(SendmailExit.Usage, SendmailIntake.Prepare(Request("Subject: s\n\n"), Options, out _)!.ExitCode);
        Assert.Equal(SendmailExit.DataError,
            SendmailIntake.Prepare(Request("To: \"unclosed <a@b\n\n", SendmailFlags.RecipientsFromHeader), Options, out _)!.ExitCode);
        var strict = Options with { Rules = new SendmailRules("root", "", 500) };
        Assert.Equal(SendmailExit.NoPermission, SendmailIntake.Prepare(Request("Subject: s\n\n", rcpts: "joe@hosted.test"), strict, out _)!.ExitCode);
        var small = Options with { MaxMessageBytes = 10 };
        Assert.Equal(SendmailExit.DataError, SendmailIntake.Prepare(Request("Subject: a longer message\n\n", rcpts: "joe@hosted.test"), small, out _)!.ExitCode);
    }
}
