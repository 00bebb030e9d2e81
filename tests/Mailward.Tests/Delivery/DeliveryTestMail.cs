// Helpers of the delivery tests: send with MailKit, find a user's Maildir, list new mail, wait for the queue to settle.
using MailKit.Net.Smtp;
using MailKit.Security;
using Mailward.Core.Accounts;
using Mailward.Tests.Smtp;
using MimeKit;

namespace Mailward.Tests.Delivery;

public static class DeliveryTestMail
{
    public static async Task SendAsync(ServerFixture server, string to, string subject, string text = "hello", string from = "sender@remote.test", params string[] more)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse(to));
        foreach (var m in more)
            message.To.Add(MailboxAddress.Parse(m));
        message.Subject = subject;
        message.Body = new TextPart("plain") { Text = text, ContentTransferEncoding = ContentEncoding.EightBit };
        using var client = new SmtpClient { Timeout = 15_000 };
        await client.ConnectAsync(server.Smtp.Address.ToString(), server.Smtp.Port, SecureSocketOptions.None);
        await client.SendAsync(message);
        await client.DisconnectAsync(true);
    }

    public static string Maildir(ServerFixture server, string address)
    {
        var a = Core.Addresses.MailAddress.Parse(address);
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        var user = store.FindUser(a.Local, a.Domain)!;
        store.Dispose();
        return Path.Combine(server.DataPath, "domains", user.Directory, "Maildir");
    }

    public static string[] NewMail(string maildir) =>
        Directory.Exists(Path.Combine(maildir, "new")) ? Directory.GetFiles(Path.Combine(maildir, "new")).Order().ToArray() : [];

    /// <summary>Waits until the queue holds <paramref name="left"/> messages and nothing changes for a moment.</summary>
    public static async Task SettleAsync(ServerFixture server, int left = 0)
    {
        for (var i = 0; i < 100; i++)
        {
            if (server.Queue.Messages.Count == left)
            {
                await Task.Delay(200);
                if (server.Queue.Messages.Count == left)
                    return;
            }
            await Task.Delay(50);
        }
        Assert.Fail($"queue still holds {server.Queue.Messages.Count} messages, expected {left}");
    }
}
