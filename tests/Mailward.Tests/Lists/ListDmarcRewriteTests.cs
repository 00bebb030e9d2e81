// The list's `dmarc` From rewrite over real sockets with the tests' DNS server (docs/lists.md, "The
// From rewrite"): only posts whose From domain publishes p=quarantine or p=reject (or whose record
// cannot be had) get the list in From; p=none and no record leave From alone.
using Mailward.Tests.Support;
using static Mailward.Tests.Lists.ListTestMail;

namespace Mailward.Tests.Lists;

public sealed class ListDmarcRewriteTests : IDisposable
{
    private readonly TempFolder _tmp = new();

    public void Dispose() => _tmp.Dispose();

    [Fact]
    public async Task The_dmarc_mode_rewrites_only_when_the_posters_domain_asks_for_it()
    {
        await using var dns = new DnsTestServer()
            .Add("_dmarc.reject.test", "TXT", "v=DMARC1; p=reject")
            .Add("_dmarc.quar.test", "TXT", "v=DMARC1; p=quarantine")
            .Add("_dmarc.none.test", "TXT", "v=DMARC1; p=none")
            .Add("_dmarc.org.test", "TXT", "v=DMARC1; p=none; sp=reject")
            .Fail("_dmarc.broken.test");
        var suffixes = _tmp.Combine("public_suffix_list.dat");
        await File.WriteAllTextAsync(suffixes, "// the tests' list\ntest\n");
        await using var sink = new TestMta();
        // The door's own DMARC is off: what is checked here is the list's question only.
        await using var server = await Smtp.ServerFixture.StartAsync(Users, (TimeProvider?)null, "--Delivery:Enabled=true",
            $"--Remote:Routes:remote.test={sink.Endpoint}", $"--Dns:Servers={dns.Setting}", "--Dns:Retries=0", "--Dmarc:Mode=off",
            $"--Dmarc:PublicSuffixList={suffixes}");
        await CliAsync(server, "list", "add", "team@hosted.test", "--name", "Team", "--from-rewrite", "dmarc");
        await CliAsync(server, "list", "subscribe", "team@hosted.test", "joe@hosted.test");

        (string From, bool Rewritten)[] cases =
        [
            ("bob@reject.test", true), ("carol@quar.test", true), ("dan@none.test", false), ("eve@nodmarc.test", false),
            ("fay@sub.org.test", true), // the organizational domain's sp=reject
            ("gus@broken.test", true), // no answer: the safe side
        ];
        foreach (var (from, _) in cases)
            await SendAsync(server, from, "team@hosted.test", "from " + from, from: $"Poster <{from}>");
        await SettleAsync(server);
        var copies = Mail(server, "joe@hosted.test");
        Assert.Equal(cases.Length, copies.Count);
        foreach (var (from, rewritten) in cases)
        {
            var copy = copies.Single(c => c.Subject == "from " + from);
            var shown = copy.From.Mailboxes.Single();
            if (rewritten)
            {
                Assert.Equal("team@hosted.test", shown.Address);
                Assert.Equal("Poster via Team", shown.Name);
                Assert.Equal(from, copy.ReplyTo.Mailboxes.Single().Address);
            }
            else
            {
                Assert.Equal(from, shown.Address);
                Assert.Empty(copy.ReplyTo.Mailboxes);
            }
        }
    }
}
