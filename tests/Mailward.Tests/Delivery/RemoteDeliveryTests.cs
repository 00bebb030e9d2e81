// Remote delivery end to end, with a scripted receiving server (TestMta) as the smarthost or a
// route and a clock the test drives: forwards leave with their bytes intact, all recipients of a
// destination share one connection, 4xx is retried on qmail's schedule, 5xx and the end of the
// queue lifetime bounce with a DSN, and unreachable hosts are remembered.
using System.Text;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using MimeKit;

namespace Mailward.Tests.Delivery;

public class RemoteDeliveryTests
{
    private static FakeTimeProvider Clock() => new(DateTimeOffset.UtcNow);

    private static async Task<MessageDeliveryStatus> SingleDsnAsync(ServerFixture server, string address)
    {
        var file = Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, address)));
        var dsn = await MimeMessage.LoadAsync(file);
        Assert.StartsWith("failure notice", dsn.Subject);
        return Assert.IsType<MessageDeliveryStatus>(Assert.IsType<MultipartReport>(dsn.Body)[1]);
    }

    /// <summary>Waits until no delivery pass is running and the queue holds <paramref name="left"/> messages.</summary>
    private static async Task IdleAsync(ServerFixture server, int left)
    {
        for (var i = 0; i < 200; i++)
        {
            var status = server.Manager.Status();
            if (status.Count == left && status.All(m => m.Recipients.All(r => r.State != "delivering" && (r.State != "pending" || r.NextAttempt is not null))))
                return;
            await Task.Delay(50);
        }
        Assert.Fail($"the queue did not settle at {left} deferred messages: {server.Manager.Status().Count} queued");
    }

    [Fact]
    public async Task A_forward_to_a_remote_address_leaves_through_the_smarthost_with_its_bytes_intact()
    {
        await using var mta = new TestMta();
        await using var server = await ServerFixture.StartAsync(["domain hosted.test", "alias fwd@hosted.test &someone@remote.test"],
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}");
        await DeliveryTestMail.SendAsync(server, "fwd@hosted.test", "out", ".leading dot\r\nGrüße", from: "sender@elsewhere.test");
        await mta.WaitForAsync(1);
        await DeliveryTestMail.SettleAsync(server);
        var mail = Assert.Single(mta.Received);
        Assert.Equal("sender@elsewhere.test", mail.Sender);
        Assert.Equal(["someone@remote.test"], mail.Recipients);
        Assert.Contains("BODY=8BITMIME", mail.MailCommand);
        Assert.Contains($"SIZE={mail.Data.Length}", mail.MailCommand);
        var text = Encoding.UTF8.GetString(mail.Data);
        Assert.StartsWith("Delivered-To: fwd@hosted.test\r\nReceived: from ", text);
        Assert.Contains("\r\n.leading dot\r\n", text); // unstuffed again on arrival: the dot survived
        Assert.Contains(server.Log, l => l.Contains("to=<someone@remote.test> channel=remote result=delivered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task All_recipients_of_one_destination_share_one_connection_and_each_gets_its_own_result()
    {
        await using var mta = new TestMta { RcptReply = r => r.StartsWith("nobody", StringComparison.Ordinal) ? "550 5.1.1 no such user" : "250 ok" };
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", $"--Remote:Routes:remote.test={mta.Endpoint}");
        await DeliveryTestMail.SendAsync(server, "a@remote.test", "three", from: "me@hosted.test", more: ["b@remote.test", "nobody@remote.test"]);
        await mta.WaitForAsync(1);
        await DeliveryTestMail.SettleAsync(server);
        var mail = Assert.Single(mta.Received);
        Assert.Equal(["a@remote.test", "b@remote.test"], mail.Recipients);
        Assert.Equal(1, mta.Connections);
        var status = await SingleDsnAsync(server, "me@hosted.test");
        Assert.Equal(2, status.StatusGroups.Count(g => g.Count > 0)); // per message, then the one failed recipient
        Assert.Equal("rfc822; nobody@remote.test", status.StatusGroups[1]["Final-Recipient"]);
        Assert.Equal("5.1.1", status.StatusGroups[1]["Status"]);
        Assert.StartsWith("smtp; 550 5.1.1 no such user", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.Equal("dns; 127.0.0.1", status.StatusGroups[1]["Remote-MTA"]);
    }

    [Fact]
    public async Task A_remote_4xx_is_retried_on_the_schedule_and_then_delivered()
    {
        var clock = Clock();
        await using var mta = new TestMta { DataReply = phase => phase == 0 ? "451 4.3.0 try again later" : "250 2.0.0 ok" };
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"], clock,
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}");
        await DeliveryTestMail.SendAsync(server, "far@remote.test", "retry", from: "me@hosted.test");
        await IdleAsync(server, left: 1);
        var recipient = Assert.Single(Assert.Single(server.Manager.Status()).Recipients);
        Assert.Equal("pending", recipient.State);
        Assert.Contains("451 4.3.0 try again later", recipient.LastError);
        var arrived = Assert.Single(server.Queue.Messages).ArrivedAt;
        Assert.Equal(arrived.AddSeconds(400), recipient.NextAttempt); // remote attempt 1 at (20·1)² s
        Assert.Empty(mta.Received);

        clock.Advance(TimeSpan.FromSeconds(399));
        await Task.Delay(300);
        Assert.Empty(mta.Received);
        clock.Advance(TimeSpan.FromSeconds(1));
        await mta.WaitForAsync(1, seconds: 60); // a full parallel test run can keep the retry's pass waiting
        await DeliveryTestMail.SettleAsync(server);
        Assert.Empty(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, "me@hosted.test"))); // no bounce
    }

    [Fact]
    public async Task A_remote_5xx_bounces_to_the_senders_mailbox()
    {
        await using var mta = new TestMta { DataReply = _ => "554 5.7.1 message refused" };
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}");
        await DeliveryTestMail.SendAsync(server, "far@remote.test", "refused remotely", from: "me@hosted.test");
        await DeliveryTestMail.SettleAsync(server);
        var status = await SingleDsnAsync(server, "me@hosted.test");
        Assert.Equal("5.7.1", status.StatusGroups[1]["Status"]);
        Assert.Contains("554 5.7.1 message refused", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.Empty(mta.Received);
    }

    [Fact]
    public async Task A_remote_reply_reaches_the_dsn_and_the_queue_printable()
    {
        // A hostile receiver answers with a terminal escape and a bare CR inside its reply line.
        await using var mta = new TestMta { DataReply = _ => "554 5.7.1 refused \u001b[2J\rX-Injected: yes" };
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}");
        await DeliveryTestMail.SendAsync(server, "far@remote.test", "hostile reply", from: "me@hosted.test");
        await DeliveryTestMail.SettleAsync(server);
        var diagnostic = (await SingleDsnAsync(server, "me@hosted.test")).StatusGroups[1]["Diagnostic-Code"] ?? "";
        Assert.Contains("554 5.7.1 refused ?[2J?X-Injected: yes", diagnostic);
        Assert.DoesNotContain('\u001b', diagnostic);
        Assert.DoesNotContain('\r', diagnostic);
    }

    [Fact]
    public async Task Mail_still_deferred_at_the_end_of_the_lifetime_bounces_and_an_undeliverable_bounce_goes_to_the_postmaster()
    {
        var clock = Clock();
        await using var mta = new TestMta { DataReply = _ => "452 4.2.2 mailbox full" };
        await using var server = await ServerFixture.StartAsync(["domain mail.test"], clock,
            "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}", "--Queue:Lifetime=3600");
        // The sender is remote too: its bounce goes out through the same full smarthost and fails.
        await DeliveryTestMail.SendAsync(server, "far@remote.test", "never", from: "someone@remote.test");
        await IdleAsync(server, left: 1);
        for (var step = 0; step < 10 && server.Queue.Messages.Any(m => m.Envelope.Sender.Length > 0 && m.Envelope.Sender != "#@[]"); step++)
        {
            clock.Advance(TimeSpan.FromMinutes(10));
            await Task.Delay(200);
        }
        // The bounce (null sender) is deferred as well; at its own end of life it double-bounces.
        await IdleAsync(server, left: 1);
        Assert.Equal("", Assert.Single(server.Queue.Messages).Envelope.Sender);
        clock.Advance(TimeSpan.FromHours(2));
        await DeliveryTestMail.SettleAsync(server);
        var status = await SingleDsnAsync(server, "postmaster@mail.test");
        Assert.Equal("4.2.2", status.StatusGroups[1]["Status"]);
        Assert.Contains("gave up after", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.Empty(mta.Received);
        Assert.True(mta.DataPhases >= 4, $"{mta.DataPhases} attempts");
    }

    [Fact]
    public async Task An_unreachable_host_is_remembered_and_skipped_until_a_flush()
    {
        var clock = Clock();
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }
        await using var server = await ServerFixture.StartAsync(["domain hosted.test"], clock,
            "--Delivery:Enabled=true", $"--Remote:SmartHost=127.0.0.1:{port}");
        await DeliveryTestMail.SendAsync(server, "far@remote.test", "one");
        await IdleAsync(server, left: 1);
        var host = Assert.Single(server.Manager.Hosts());
        Assert.Equal($"127.0.0.1:{port}", host.Endpoint);
        Assert.Contains("could not connect", host.LastError);

        await DeliveryTestMail.SendAsync(server, "far@remote.test", "two");
        await IdleAsync(server, left: 2);
        var second = server.Manager.Status()[1].Recipients[0];
        Assert.Contains("being skipped", second.LastError);

        Assert.Equal(2, server.Manager.Flush());
        for (var i = 0; i < 100 && server.Manager.Hosts().Count == 0; i++)
            await Task.Delay(50);
        await IdleAsync(server, left: 2);
        // Both were tried again at once, against a host whose record the flush had cleared.
        Assert.InRange(Assert.Single(server.Manager.Hosts()).Failures, 1, 2); // 3 had the flush not forgotten the first
        Assert.Contains(server.Manager.Status(), m => m.Recipients[0].LastError.Contains("could not connect", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_broken_starttls_offer_falls_back_to_plain_text_and_the_mail_still_goes()
    {
        await using var mta = new TestMta { BrokenStartTls = true };
        await using var server = await ServerFixture.StartAsync(["domain hosted.test"], "--Delivery:Enabled=true", $"--Remote:SmartHost={mta.Endpoint}");
        await DeliveryTestMail.SendAsync(server, "far@remote.test", "tls broken");
        await mta.WaitForAsync(1);
        await DeliveryTestMail.SettleAsync(server);
        Assert.Equal(2, mta.Connections); // the TLS attempt, then plain text
    }
}
