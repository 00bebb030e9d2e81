// The filter of forged fields without a socket: which fields go, which stay, and that the result
// does not depend on where the network cut the message into chunks.
using System.Text;
using Mailward.Protocols.Smtp;

namespace Mailward.Tests.Smtp;

public sealed class ForgedFieldFilterTests
{
    private const string Message =
        "Received: from a.test\r\n\tby b.test; Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        + "Authentication-Results: mail.test; spf=pass\r\n"
        + "authentication-results:\r\n (folded id) mail.test;\r\n dkim=pass\r\n"
        + "Authentication-Results: mx.other.test; dmarc=pass header.from=x.test\r\n"
        + "X-Mailward-Quarantine: no\r\n\tstill no\r\n"
        + "X-Mailward: a field of another name stays\r\n"
        + "Subject: hi\r\n"
        + "\r\n"
        + "Authentication-Results: mail.test; in the body, left alone\r\n"
        + "X-Mailward-DNSBL: body text too\r\n";

    private const string Expected =
        "Received: from a.test\r\n\tby b.test; Sun, 29 Nov 2026 10:00:00 +0000\r\n"
        + "Authentication-Results: mx.other.test; dmarc=pass header.from=x.test\r\n"
        + "X-Mailward: a field of another name stays\r\n"
        + "Subject: hi\r\n"
        + "\r\n"
        + "Authentication-Results: mail.test; in the body, left alone\r\n"
        + "X-Mailward-DNSBL: body text too\r\n";

    private static (string Text, int Removed) Run(byte[] bytes, int cut)
    {
        var filter = new ForgedFieldFilter("mail.test", 1000);
        var output = new List<byte>();
        for (var i = 0; i < bytes.Length; i += cut)
            output.AddRange(filter.Apply(bytes.AsMemory(i, Math.Min(cut, bytes.Length - i))).ToArray());
        output.AddRange(filter.Finish().ToArray());
        return (Encoding.ASCII.GetString([.. output]), filter.Removed);
    }

    [Fact]
    public void Fields_naming_this_host_and_its_marks_go_wherever_the_chunks_are_cut()
    {
        var bytes = Encoding.ASCII.GetBytes(Message);
        for (var cut = 1; cut <= bytes.Length; cut++)
        {
            var (text, removed) = Run(bytes, cut);
            Assert.Equal(Expected, text);
            Assert.Equal(3, removed);
        }
    }

    [Fact]
    public void A_message_that_is_all_header_keeps_its_last_field_and_loses_a_forged_one_at_the_end()
    {
        Assert.Equal("Subject: x\r\n", Run(Encoding.ASCII.GetBytes("Subject: x\r\nAuthentication-Results: mail.test; none\r\n"), 7).Text);
        Assert.Equal("Subject: x\r\nAuthentication-Results: a.test; none", Run(Encoding.ASCII.GetBytes("Subject: x\r\nAuthentication-Results: a.test; none"), 5).Text);
    }

    [Fact]
    public void An_overlong_held_field_is_dropped_whole_and_the_rest_passes()
    {
        var folded = string.Concat(Enumerable.Repeat(" x\r\n", 20_000)); // 80 KB of folded lines
        var (text, removed) = Run(Encoding.ASCII.GetBytes($"Authentication-Results: a.test;\r\n{folded}Subject: y\r\n\r\nbody\r\n"), 4096);
        Assert.Equal("Subject: y\r\n\r\nbody\r\n", text);
        Assert.Equal(1, removed);
    }
}
