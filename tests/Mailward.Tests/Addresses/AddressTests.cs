// Domain and local-part rules: IDNA to A-labels, lengths, characters that could walk the tree.
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;

namespace Mailward.Tests.Addresses;

public class AddressTests
{
    [Theory]
    [InlineData("Example.COM", "example.com")]
    [InlineData("bücher.example", "xn--bcher-kva.example")]
    [InlineData("xn--bcher-kva.example", "xn--bcher-kva.example")]
    [InlineData("mail.例え.jp", "mail.xn--r8jz45g.jp")]
    [InlineData("localhost", "localhost")]
    public void Domains_are_normalised_to_lower_case_A_labels(string input, string expected) =>
        Assert.Equal(expected, DomainName.Normalize(input));

    [Theory]
    [InlineData("")]
    [InlineData("exa mple.com")]
    [InlineData("-bad.com")]
    [InlineData("bad-.com")]
    [InlineData("a..b")]
    [InlineData("under_score.com")]
    [InlineData("192.0.2.1")]
    [InlineData("ex/ample.com")]
    [InlineData("ex@mple.com")]
    public void Illegal_domains_are_refused(string input)
    {
        var e = Assert.Throws<AccountException>(() => DomainName.Normalize(input));
        Assert.Equal(AccountError.IllegalDomain, e.Error);
    }

    [Fact]
    public void Overlong_domains_and_labels_are_named_too_long()
    {
        var label64 = new string('a', 64) + ".com";
        Assert.Equal(AccountError.NameTooLong, Assert.Throws<AccountException>(() => DomainName.Normalize(label64)).Error);
        var long254 = string.Join('.', Enumerable.Repeat(new string('a', 50), 5)) + ".com";
        Assert.Equal(AccountError.NameTooLong, Assert.Throws<AccountException>(() => DomainName.Normalize(long254)).Error);
        var ok253 = string.Join('.', Enumerable.Repeat(new string('a', 62), 4)) + ".a";
        Assert.Equal(253, ok253.Length);
        Assert.Equal(ok253, DomainName.Normalize(ok253));
    }

    [Theory]
    [InlineData("Joe", "joe")]
    [InlineData("joe.smith", "joe.smith")]
    [InlineData("joe+tag", "joe+tag")]
    [InlineData("o'brien", "o'brien")]
    public void Local_parts_are_lower_cased(string input, string expected)
    {
        Assert.True(LocalPart.TryNormalize(input, out var local, out _));
        Assert.Equal(expected, local);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData(".hidden")]
    [InlineData("trailing.")]
    [InlineData("two..dots")]
    [InlineData("-dash")]
    [InlineData("+plus")]
    [InlineData("sp ace")]
    [InlineData("quo\"te")]
    [InlineData("ümlaut")]
    public void Local_parts_that_are_not_safe_folder_names_are_refused(string input) =>
        Assert.False(LocalPart.TryNormalize(input, out _, out _));

    [Fact]
    public void Addresses_accept_the_vchkpw_percent_form()
    {
        Assert.Equal(new MailAddress("joe", "example.com"), MailAddress.Parse("Joe%Example.com"));
        Assert.Equal(new MailAddress("joe", "xn--bcher-kva.example"), MailAddress.Parse("joe@bücher.example"));
        Assert.Equal(AccountError.NameTooLong, Assert.Throws<AccountException>(() => MailAddress.Parse(new string('a', 65) + "@x.com")).Error);
        Assert.Equal(AccountError.IllegalUser, Assert.Throws<AccountException>(() => MailAddress.Parse("a/b@x.com")).Error);
        Assert.Equal(AccountError.IllegalDomain, Assert.Throws<AccountException>(() => MailAddress.Parse("joe@x_y.com")).Error);
    }

    [Theory]
    [InlineData("NOQUOTA", 0, 0)]
    [InlineData("1048576", 1048576, 0)]
    [InlineData("50M", 52428800, 0)]
    [InlineData("50MB", 52428800, 0)]
    [InlineData("2G", 2147483648, 0)]
    [InlineData("10k", 10240, 0)]
    [InlineData("52428800S,1000C", 52428800, 1000)]
    [InlineData("1000C", 0, 1000)]
    public void Quotas_parse_in_every_admin_spelling(string text, long bytes, long messages) =>
        Assert.Equal(new Quota(bytes, messages), Quota.Parse(text));

    [Theory]
    [InlineData("")]
    [InlineData("lots")]
    [InlineData("-5")]
    [InlineData("10X")]
    [InlineData("5S,6S")]
    [InlineData("99999999999999999999")]
    [InlineData("9999999999G")]
    public void Malformed_quotas_are_refused(string text) =>
        Assert.Equal(AccountError.QuotaMalformed, Assert.Throws<AccountException>(() => Quota.Parse(text)).Error);

    [Fact]
    public void Quota_prints_in_maildirsize_form() =>
        Assert.Equal("52428800S,1000C", new Quota(52428800, 1000).ToString());
}
