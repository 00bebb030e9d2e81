// A delivery killed between linking tmp/BASE.HOST into new/ and unlinking it leaves the tmp file;
// the retry finds the message delivered and removes that leftover (a link there is removed, never
// followed), so tmp/ does not fill with copies nobody will ever clean.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Tests.Support;

namespace Mailward.Tests.MailStore;

public sealed class MaildirLeftoverTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_leftover_of_a_delivered_message_is_removed_and_a_link_is_not_followed()
    {
        var maildir = Path.Combine(_dir.Path, "Maildir");
        using (var body = new MemoryStream(Encoding.ASCII.GetBytes("Subject: x\r\n\r\nbody\r\n")))
            MaildirWriter.Deliver(maildir, "1700000000.Q1R0T0", "mail.test", "s@remote.test", "joe@hosted.test", body);
        Assert.True(MaildirWriter.AlreadyDelivered(maildir, "1700000000.Q1R0T0", hostname: "mail.test"));
        var leftover = Path.Combine(maildir, "tmp", "1700000000.Q1R0T0.mail.test");
        File.WriteAllText(leftover, "Subject: x\n\nbody\n"); // the killed attempt's file, still in tmp/
        MaildirWriter.RemoveLeftover(maildir, "1700000000.Q1R0T0", "mail.test");
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(maildir, "tmp")));

        var outside = Path.Combine(_dir.Path, "precious");
        File.WriteAllText(outside, "keep me");
        File.CreateSymbolicLink(leftover, outside);
        MaildirWriter.RemoveLeftover(maildir, "1700000000.Q1R0T0", "mail.test");
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(maildir, "tmp")));
        Assert.Equal("keep me", File.ReadAllText(outside));

        MaildirWriter.RemoveLeftover(maildir, "1700000000.Q1R0T0", "mail.test"); // nothing there: no error
        MaildirWriter.RemoveLeftover(Path.Combine(_dir.Path, "nowhere"), "1700000000.Q1R0T0", "mail.test");
    }
}
