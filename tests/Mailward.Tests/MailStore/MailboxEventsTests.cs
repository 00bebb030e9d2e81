// The change hub: a subscriber of an owner hears a delivery to that owner's INBOX (what IMAP IDLE
// will wait on) and a POP3 session's deletions at QUIT; another owner's subscriber hears neither.
using System.Net.Sockets;
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Tests.MailStore;

public class MailboxEventsTests
{
    [Fact]
    public async Task A_subscriber_hears_a_delivery_and_a_pop3_deletion()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user ann@hosted.test"], "--Delivery:Enabled=true");
        var events = server.Services.GetRequiredService<MailboxEvents>();
        var joe = new List<MailboxChange>();
        var ann = new List<MailboxChange>();
        var added = new TaskCompletionSource();
        var expunged = new TaskCompletionSource();
        using var s1 = events.Subscribe("JOE@hosted.test", c =>
        {
            lock (joe)
                joe.Add(c);
            (c.Kind == MailboxChangeKind.Added ? added : expunged).TrySetResult();
        });
        using var s2 = events.Subscribe("ann@hosted.test", c =>
        {
            lock (ann)
                ann.Add(c);
        });

        await DeliveryTestMail.SendAsync(server, "joe@hosted.test", "for the hub");
        await added.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(new MailboxChange("joe@hosted.test", "INBOX", MailboxChangeKind.Added), joe[0]);

        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(server.Pop3);
            var s = tcp.GetStream();
            var r = new ReplyReader(s);
            await r.ReadLineAsync();
            await s.WriteAsync(Encoding.ASCII.GetBytes("USER joe@hosted.test\r\nPASS pw\r\nDELE 1\r\nQUIT\r\n"));
            for (var i = 0; i < 4; i++)
                await r.ReadLineAsync();
        }
        await expunged.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains(new MailboxChange("joe@hosted.test", "INBOX", MailboxChangeKind.Expunged), joe);
        Assert.Empty(ann);
    }
}
