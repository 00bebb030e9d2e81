// The SPF corpus: policies served by the test's DNS server and the checks asked of them, each with
// the result RFC 7208 gives (written by hand from the RFC, section cited) and, where it matters,
// the explanation. Written for Mailward, after the categories of the RFC 7208 test suite (syntax,
// record selection, each mechanism and modifier, macros, the lookup and void-lookup limits, loops,
// IPv6, exp=). SpfCheckTests runs every case through SpfChecker and through pyspf and asks for the
// same answer from both.
using Mailward.Core.Spf;
using Mailward.Tests.Support;

namespace Mailward.Tests.Spf;

/// <param name="Sender">MAIL FROM ("" for the null sender: the HELO identity).</param>
/// <param name="Explanation">When set, the fail's explanation both must give.</param>
public sealed record SpfCase(string Name, string Ip, string Sender, string Helo, SpfResult Expected, string? Explanation = null)
{
    public override string ToString() => Name;
}

public static class SpfCorpus
{
    public const string V4 = "192.0.2.3";
    public const string V6 = "2001:db8::cafe";
    public const string Stranger = "198.51.100.1";

    /// <summary>The zone every case reads.</summary>
    public static void Serve(DnsTestServer dns)
    {
        // Results of "all" and the default (§4.7, §5.1).
        dns.Add("pass.test", "TXT", "v=spf1 ip4:192.0.2.0/24 -all");
        dns.Add("soft.test", "TXT", "v=spf1 ~all");
        dns.Add("neutral.test", "TXT", "v=spf1 ?all");
        dns.Add("noall.test", "TXT", "v=spf1 ip4:10.0.0.1");
        dns.Add("empty.test", "TXT", "v=spf1");
        dns.Add("upper.test", "TXT", "V=SPF1 +All");
        dns.Add("spaces.test", "TXT", "v=spf1   ip4:192.0.2.3    -all   ");
        // Record selection (§4.5).
        dns.Add("nospf.test", "TXT", "hello world", "v=spf10 +all");
        dns.Add("two.test", "TXT", "v=spf1 -all", "v=spf1 +all");
        dns.Add("other.two.test", "TXT", "google-site-verification=abc", "v=spf1 +all");
        dns.AddTxtStrings("split.test", "v=spf1 ip4:192.0.2.3", " -all");
        dns.Add("big.test", "TXT", "v=spf1 " + string.Join(' ', Enumerable.Range(1, 40).Select(i => $"ip4:203.0.113.{i}")) + " ip4:192.0.2.3 -all");
        dns.Fail("servfail.test");
        // Syntax (§4.6, §12): an error anywhere is permerror, even after a match.
        dns.Add("late-error.test", "TXT", "v=spf1 ip4:192.0.2.3 foo -all");
        dns.Add("bad-ip4.test", "TXT", "v=spf1 ip4:192.0.2.300 -all");
        dns.Add("zero-ip4.test", "TXT", "v=spf1 ip4:192.0.2.03 -all");
        dns.Add("long-cidr.test", "TXT", "v=spf1 ip4:192.0.2.3/33 -all");
        dns.Add("long-cidr6.test", "TXT", "v=spf1 ip6:2001:db8::/129 -all");
        dns.Add("bare-label.test", "TXT", "v=spf1 a:foo -all");
        dns.Add("a-address.test", "TXT", "v=spf1 a:192.0.2.3 -all");
        dns.Add("all-arg.test", "TXT", "v=spf1 all:x");
        dns.Add("qual-mod.test", "TXT", "v=spf1 -redirect=pass.test");
        dns.Add("two-redirects.test", "TXT", "v=spf1 redirect=pass.test redirect=soft.test");
        dns.Add("two-exps.test", "TXT", "v=spf1 exp=e.test exp=e.test -all");
        dns.Add("empty-include.test", "TXT", "v=spf1 include: -all");
        dns.Add("bare-exists.test", "TXT", "v=spf1 exists -all");
        dns.Add("unknown-mod.test", "TXT", "v=spf1 moo=bar.%{d} ip4:192.0.2.3 -all");
        dns.Add("bad-mod-macro.test", "TXT", "v=spf1 moo=%{x} ip4:192.0.2.3 -all");
        dns.Add("percent-end.test", "TXT", "v=spf1 exists:foo.test% -all");
        dns.Add("c-macro.test", "TXT", "v=spf1 exists:%{c}.c-macro.test -all");
        // include (§5.2).
        dns.Add("inc.test", "TXT", "v=spf1 include:pass.test -all");
        dns.Add("inc-none.test", "TXT", "v=spf1 include:nospf.test -all");
        dns.Add("inc-temp.test", "TXT", "v=spf1 include:servfail.test -all");
        dns.Add("inc-soft.test", "TXT", "v=spf1 include:soft.test ?all");
        dns.Add("inc-self.test", "TXT", "v=spf1 include:inc-self.test -all");
        dns.Add("inc-perm.test", "TXT", "v=spf1 include:late-error.test +all");
        // redirect (§6.1).
        dns.Add("redir.test", "TXT", "v=spf1 redirect=pass.test");
        dns.Add("redir-none.test", "TXT", "v=spf1 redirect=nospf.test");
        dns.Add("redir-all.test", "TXT", "v=spf1 -all redirect=pass.test");
        dns.Add("redir-macro.test", "TXT", "v=spf1 redirect=_spf.%{d}");
        dns.Add("_spf.redir-macro.test", "TXT", "v=spf1 ip4:192.0.2.3 -all");
        // a (§5.3), with prefixes, IPv6 and a CNAME.
        dns.Add("a.test", "TXT", "v=spf1 a -all").Add("a.test", "A", V4);
        dns.Add("acidr.test", "TXT", "v=spf1 a:host.acidr.test/24 -all").Add("host.acidr.test", "A", "192.0.2.200");
        dns.Add("adot.test", "TXT", "v=spf1 a:host.acidr.test. -all");
        dns.Add("a6.test", "TXT", "v=spf1 a -all").Add("a6.test", "AAAA", V6).Add("a6.test", "A", "203.0.113.9");
        dns.Add("a6cidr.test", "TXT", "v=spf1 a/32//64 -all").Add("a6cidr.test", "AAAA", "2001:db8::1");
        dns.Add("cname.test", "TXT", "v=spf1 a:alias.cname.test -all").Add("alias.cname.test", "CNAME", "real.cname.test").Add("real.cname.test", "A", V4);
        // mx (§5.4).
        dns.Add("mx.test", "TXT", "v=spf1 mx -all").Add("mx.test", "MX", "10 mail.mx.test", "20 backup.mx.test")
            .Add("mail.mx.test", "A", "203.0.113.50").Add("backup.mx.test", "A", V4);
        dns.Add("mxcidr.test", "TXT", "v=spf1 mx:mx.test/24 -all");
        dns.Add("mx11.test", "TXT", "v=spf1 mx ip4:192.0.2.3 -all").Add("mx11.test", "MX", Enumerable.Range(1, 11).Select(i => $"{i} m{i}.mx11.test").ToArray());
        for (var i = 1; i <= 11; i++)
            dns.Add($"m{i}.mx11.test", "A", "203.0.113.60");
        // ptr (§5.5): 192.0.2.3 names host.ptr.test, which names it back; 192.0.2.4 names a host that does not.
        dns.Add("3.2.0.192.in-addr.arpa", "PTR", "host.ptr.test").Add("host.ptr.test", "A", V4);
        dns.Add("4.2.0.192.in-addr.arpa", "PTR", "liar.ptr.test").Add("liar.ptr.test", "A", "203.0.113.7");
        dns.Add("ptr.test", "TXT", "v=spf1 ptr -all");
        dns.Add("ptr-other.test", "TXT", "v=spf1 ptr:elsewhere.test -all");
        dns.Add("ptr-arg.test", "TXT", "v=spf1 ptr:ptr.test -all");
        // ip4, ip6 (§5.6).
        dns.Add("ip6.test", "TXT", "v=spf1 ip6:2001:db8::/32 -all");
        dns.Add("ip6-only.test", "TXT", "v=spf1 ip4:0.0.0.0/0 ?ip6:::/0 -all");
        dns.Add("ip4-all.test", "TXT", "v=spf1 ip4:0.0.0.0/0 -all");
        // exists (§5.7) and macros (§7).
        dns.Add("exists.test", "TXT", "v=spf1 exists:%{i}.ok.exists.test -all").Add("192.0.2.3.ok.exists.test", "A", "127.0.0.2");
        dns.Add("macros.test", "TXT", "v=spf1 exists:%{l}.%{o}.%{ir}.%{v}.%{h}.m.test -all")
            .Add("joe.macros.test.3.2.0.192.in-addr.client.example.m.test", "A", "127.0.0.2");
        dns.Add("transform.test", "TXT", "v=spf1 exists:%{d2}.%{l1r-}.%{lr-}.t.test -all")
            .Add("transform.test.first.last.first.t.test", "A", "127.0.0.2");
        dns.Add("six-macro.test", "TXT", "v=spf1 exists:%{ir}.%{v}.six-macro.test -all")
            .Add("e.f.a.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.six-macro.test", "A", "127.0.0.2");
        dns.Add("escape.test", "TXT", "v=spf1 -all exp=why.escape.test").Add("why.escape.test", "TXT", "%{L} is %{l}, %% and%_%-");
        // exp= (§6.2).
        dns.Add("exp.test", "TXT", "v=spf1 ip4:203.0.113.1 -all exp=explain.exp.test")
            .Add("explain.exp.test", "TXT", "%{i} is not one of %{d}'s designated mail servers (see %{c} and %{r}).");
        dns.Add("exp-two.test", "TXT", "v=spf1 -all exp=two.exp-two.test").Add("two.exp-two.test", "TXT", "one", "two");
        dns.Add("exp-redir.test", "TXT", "v=spf1 exp=mine.exp-redir.test redirect=exp.test").Add("mine.exp-redir.test", "TXT", "not this one");
        dns.Add("exp-inc.test", "TXT", "v=spf1 include:exp.test -all exp=outer.exp-inc.test").Add("outer.exp-inc.test", "TXT", "outer says no");
        // The limits (§4.6.4): 10 terms that ask DNS, 2 void answers, loops.
        var hosts = Enumerable.Range(1, 11).Select(i => $"a:h{i}.lim.test").ToArray();
        for (var i = 1; i <= 11; i++)
            dns.Add($"h{i}.lim.test", "A", $"203.0.113.{100 + i}");
        dns.Add("lim10.test", "TXT", $"v=spf1 {string.Join(' ', hosts[..10])} ip4:192.0.2.3 -all");
        dns.Add("lim11.test", "TXT", $"v=spf1 {string.Join(' ', hosts)} ip4:192.0.2.3 -all");
        dns.Add("lim11-early.test", "TXT", $"v=spf1 ip4:192.0.2.3 {string.Join(' ', hosts)} -all"); // the match comes first
        for (var i = 1; i <= 11; i++)
            dns.Add($"n{i}.nest.test", "TXT", i == 11 ? "v=spf1 ip4:192.0.2.3 -all" : $"v=spf1 include:n{i + 1}.nest.test -all");
        dns.Add("nest.test", "TXT", "v=spf1 include:n1.nest.test -all");
        dns.Add("nest9.test", "TXT", "v=spf1 include:n3.nest.test -all");
        dns.Add("loop1.test", "TXT", "v=spf1 include:loop2.test -all").Add("loop2.test", "TXT", "v=spf1 include:loop1.test -all");
        dns.Add("rloop1.test", "TXT", "v=spf1 redirect=rloop2.test").Add("rloop2.test", "TXT", "v=spf1 redirect=rloop1.test");
        dns.Add("void2.test", "TXT", "v=spf1 a:nx1.void.test a:nx2.void.test ip4:192.0.2.3 -all");
        dns.Add("void3.test", "TXT", "v=spf1 a:nx1.void.test a:nx2.void.test a:nx3.void.test ip4:192.0.2.3 -all");
        dns.Add("void-mx.test", "TXT", "v=spf1 mx:nomx.void.test exists:nx4.void.test mx:nx5.void.test ip4:192.0.2.3 -all");
        // HELO names (§2.3).
        dns.Add("client.example", "TXT", "v=spf1 a -all").Add("client.example", "A", V4);
    }

    public static IReadOnlyList<SpfCase> Cases { get; } =
    [
        new("ip4 inside", V4, "joe@pass.test", "client.example", SpfResult.Pass),
        new("ip4 outside, -all", Stranger, "joe@pass.test", "client.example", SpfResult.Fail),
        new("~all", V4, "joe@soft.test", "client.example", SpfResult.SoftFail),
        new("?all", V4, "joe@neutral.test", "client.example", SpfResult.Neutral),
        new("no match, no all: neutral", V4, "joe@noall.test", "client.example", SpfResult.Neutral),
        new("v=spf1 alone", V4, "joe@empty.test", "client.example", SpfResult.Neutral),
        new("version and mechanism in capitals", V4, "joe@upper.test", "client.example", SpfResult.Pass),
        new("extra spaces", V4, "joe@spaces.test", "client.example", SpfResult.Pass),
        new("no SPF record among TXT records", V4, "joe@nospf.test", "client.example", SpfResult.None),
        new("no such domain", V4, "joe@missing.test", "client.example", SpfResult.None),
        new("two SPF records", V4, "joe@two.test", "client.example", SpfResult.PermError),
        new("one SPF record among others", V4, "joe@other.two.test", "client.example", SpfResult.Pass),
        new("record in several strings", V4, "joe@split.test", "client.example", SpfResult.Pass),
        new("record over 512 bytes (TCP)", V4, "joe@big.test", "client.example", SpfResult.Pass),
        new("SERVFAIL", V4, "joe@servfail.test", "client.example", SpfResult.TempError),
        new("syntax error after the match", V4, "joe@late-error.test", "client.example", SpfResult.PermError),
        new("ip4 octet over 255", V4, "joe@bad-ip4.test", "client.example", SpfResult.PermError),
        new("ip4 leading zero", V4, "joe@zero-ip4.test", "client.example", SpfResult.PermError),
        new("ip4 prefix over 32", V4, "joe@long-cidr.test", "client.example", SpfResult.PermError),
        new("ip6 prefix over 128", V6, "joe@long-cidr6.test", "client.example", SpfResult.PermError),
        new("domain without a top label", V4, "joe@bare-label.test", "client.example", SpfResult.PermError),
        new("a: with an address", V4, "joe@a-address.test", "client.example", SpfResult.PermError),
        new("all with an argument", V4, "joe@all-arg.test", "client.example", SpfResult.PermError),
        new("qualifier on a modifier", V4, "joe@qual-mod.test", "client.example", SpfResult.PermError),
        new("redirect twice", V4, "joe@two-redirects.test", "client.example", SpfResult.PermError),
        new("exp twice", V4, "joe@two-exps.test", "client.example", SpfResult.PermError),
        new("include: empty", V4, "joe@empty-include.test", "client.example", SpfResult.PermError),
        new("exists without a domain", V4, "joe@bare-exists.test", "client.example", SpfResult.PermError),
        new("unknown modifier ignored", V4, "joe@unknown-mod.test", "client.example", SpfResult.Pass),
        new("unknown modifier with a bad macro", V4, "joe@bad-mod-macro.test", "client.example", SpfResult.PermError),
        new("'%' at the end", V4, "joe@percent-end.test", "client.example", SpfResult.PermError),
        new("%{c} outside exp", V4, "joe@c-macro.test", "client.example", SpfResult.PermError),
        new("include that passes", V4, "joe@inc.test", "client.example", SpfResult.Pass),
        new("include that fails does not match", Stranger, "joe@inc.test", "client.example", SpfResult.Fail),
        new("include of a domain without SPF", V4, "joe@inc-none.test", "client.example", SpfResult.PermError),
        new("include of a SERVFAIL", V4, "joe@inc-temp.test", "client.example", SpfResult.TempError),
        new("include that softfails does not match", V4, "joe@inc-soft.test", "client.example", SpfResult.Neutral),
        new("include of itself", V4, "joe@inc-self.test", "client.example", SpfResult.PermError),
        new("include of a broken record", V4, "joe@inc-perm.test", "client.example", SpfResult.PermError),
        new("redirect", V4, "joe@redir.test", "client.example", SpfResult.Pass),
        new("redirect, outside", Stranger, "joe@redir.test", "client.example", SpfResult.Fail),
        new("redirect to a domain without SPF", V4, "joe@redir-none.test", "client.example", SpfResult.PermError),
        new("redirect beside all is ignored", V4, "joe@redir-all.test", "client.example", SpfResult.Fail),
        new("redirect with a macro", V4, "joe@redir-macro.test", "client.example", SpfResult.Pass),
        new("a", V4, "joe@a.test", "client.example", SpfResult.Pass),
        new("a, outside", Stranger, "joe@a.test", "client.example", SpfResult.Fail),
        new("a:host/24", V4, "joe@acidr.test", "client.example", SpfResult.Pass),
        new("a:host. with a trailing dot", V4, "joe@adot.test", "client.example", SpfResult.Fail),
        new("a for an IPv6 client asks AAAA", V6, "joe@a6.test", "client.example", SpfResult.Pass),
        new("a for an IPv4 client asks A", V4, "joe@a6.test", "client.example", SpfResult.Fail),
        new("a//64", V6, "joe@a6cidr.test", "client.example", SpfResult.Pass),
        new("a through a CNAME", V4, "joe@cname.test", "client.example", SpfResult.Pass),
        new("mx, the second MX", V4, "joe@mx.test", "client.example", SpfResult.Pass),
        new("mx:domain/24", "203.0.113.77", "joe@mxcidr.test", "client.example", SpfResult.Pass),
        new("mx with 11 names", V4, "joe@mx11.test", "client.example", SpfResult.PermError),
        new("ptr validated", V4, "joe@ptr.test", "client.example", SpfResult.Pass),
        new("ptr of another domain", V4, "joe@ptr-other.test", "client.example", SpfResult.Fail),
        new("ptr:domain", V4, "joe@ptr-arg.test", "client.example", SpfResult.Pass),
        new("ptr name that does not name the client back", "192.0.2.4", "joe@ptr.test", "client.example", SpfResult.Fail),
        new("ip6 inside", V6, "joe@ip6.test", "client.example", SpfResult.Pass),
        new("ip6 for an IPv4 client", V4, "joe@ip6.test", "client.example", SpfResult.Fail),
        new("ip4 0/0 does not match IPv6", V6, "joe@ip6-only.test", "client.example", SpfResult.Neutral),
        new("IPv4-mapped IPv6 client is IPv4", "::ffff:192.0.2.3", "joe@ip4-all.test", "client.example", SpfResult.Pass),
        new("exists %{i}", V4, "joe@exists.test", "client.example", SpfResult.Pass),
        new("exists %{i}, not there", Stranger, "joe@exists.test", "client.example", SpfResult.Fail),
        new("macros l o ir v h", V4, "joe@macros.test", "client.example", SpfResult.Pass),
        new("transformers d2 l1r- lr-", V4, "first-last@transform.test", "client.example", SpfResult.Pass),
        new("IPv6 %{ir}", V6, "joe@six-macro.test", "client.example", SpfResult.Pass),
        new("exp with escapes", V4, "a+b@escape.test", "client.example", SpfResult.Fail, "a%2Bb is a+b, % and %20"),
        new("exp with i d c r", V4, "joe@exp.test", "client.example", SpfResult.Fail,
            "192.0.2.3 is not one of exp.test's designated mail servers (see 192.0.2.3 and mail.test)."),
        new("redirect takes the target's exp", V4, "joe@exp-redir.test", "client.example", SpfResult.Fail,
            "192.0.2.3 is not one of exp.test's designated mail servers (see 192.0.2.3 and mail.test)."),
        new("include keeps the outer exp", V4, "joe@exp-inc.test", "client.example", SpfResult.Fail, "outer says no"),
        new("10 lookups", V4, "joe@lim10.test", "client.example", SpfResult.Pass),
        new("11 lookups", V4, "joe@lim11.test", "client.example", SpfResult.PermError),
        new("11 lookups after the match", V4, "joe@lim11-early.test", "client.example", SpfResult.Pass),
        new("includes 11 deep", V4, "joe@nest.test", "client.example", SpfResult.PermError),
        new("includes 9 deep", V4, "joe@nest9.test", "client.example", SpfResult.Pass),
        new("include loop", V4, "joe@loop1.test", "client.example", SpfResult.PermError),
        new("redirect loop", V4, "joe@rloop1.test", "client.example", SpfResult.PermError),
        new("2 void lookups", V4, "joe@void2.test", "client.example", SpfResult.Pass),
        new("3 void lookups", V4, "joe@void3.test", "client.example", SpfResult.PermError),
        new("void MX and exists", V4, "joe@void-mx.test", "client.example", SpfResult.PermError),
        new("HELO identity (null sender)", V4, "", "client.example", SpfResult.Pass),
        new("HELO identity, outside", Stranger, "", "client.example", SpfResult.Fail),
    ];
}
