// The Authentication-Results field (RFC 8601) as the door writes it, and the test that finds a
// received one claiming this host's authserv-id (§5), including the comment and quoting forms a
// forger would try.
using Mailward.Core.Policy;

namespace Mailward.Tests.Policy;

public sealed class AuthenticationResultsTests
{
    [Fact]
    public void Results_are_written_one_per_folded_line_with_their_properties()
    {
        var field = AuthenticationResults.Format("mail.test",
        [
            new("spf", "pass", [("smtp.mailfrom", "bounce@example.com")]),
            new("dkim", "fail", [("header.d", "example.com"), ("header.s", "sel 1"), ("header.b", "aB+/9xYz")], "signature did not verify"),
            new("dmarc", "fail", [("header.from", "example.com")], "p=reject dis=quarantine"),
        ]);
        Assert.Equal("Authentication-Results: mail.test;\r\n\tspf=pass smtp.mailfrom=bounce@example.com;\r\n"
            + "\tdkim=fail (signature did not verify) header.d=example.com header.s=\"sel 1\" header.b=\"aB+/9xYz\";\r\n"
            + "\tdmarc=fail (p=reject dis=quarantine) header.from=example.com\r\n", field);
    }

    [Fact]
    public void Nothing_checked_is_none_and_network_text_cannot_break_the_line()
    {
        Assert.Equal("Authentication-Results: mail.test; none\r\n", AuthenticationResults.Format("mail.test", []));
        var field = AuthenticationResults.Format("mail.test", [new("dkim", "permerror", [("header.d", "evil\r\nX-Injected: 1")], "bad (nested) comment\r\n")]);
        Assert.DoesNotContain("\r\nX-Injected", field);
        var lines = field.Split("\r\n");
        Assert.Equal("", lines[^1]); // ends in CRLF
        Assert.All(lines[1..^1], l => Assert.StartsWith("\t", l)); // every other line folds: still one field
    }

    [Theory]
    [InlineData("mail.test; spf=pass", true)]
    [InlineData("MAIL.TEST; dkim=pass header.d=example.com", true)]
    [InlineData("  (forged by a friend) mail.test ; none", true)]
    [InlineData("\"mail.test\"; spf=pass", true)]
    [InlineData("mail.test 1; spf=pass", true)] // authserv-id with a version (§2.2)
    [InlineData("mx.example.net; spf=pass", false)]
    [InlineData("mail.test.example.net; spf=pass", false)]
    [InlineData("(mail.test) other.test; none", false)]
    [InlineData("", false)]
    public void A_field_naming_this_host_is_recognised(string value, bool ours) =>
        Assert.Equal(ours, AuthenticationResults.ClaimsHost(value, "mail.test"));
}
