// Backscatter (issue 18, item 4), performed by a stranger on 127.0.0.9: a bounce carries at most
// Delivery:BounceHeaderBytes of the original header.
using System.Text;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Delivery;

public class BackscatterTests
{
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
