// The TOTP arithmetic against RFC 6238 appendix B's SHA-1 test vectors (the last six of their eight
// digits, as the apps show them), base32 both ways (RFC 4648 section 10), and the skew window.
using System.Text;
using Mailward.Core.Auth;

namespace Mailward.Tests.Auth;

public sealed class TotpTests
{
    private static readonly string Rfc6238Secret = Totp.Base32(Encoding.ASCII.GetBytes("12345678901234567890"));

    [Theory]
    [InlineData(59L, "287082")]
    [InlineData(1111111109L, "081804")]
    [InlineData(1111111111L, "050471")]
    [InlineData(1234567890L, "005924")]
    [InlineData(2000000000L, "279037")]
    [InlineData(20000000000L, "353130")]
    public void Codes_are_the_rfc_6238_test_vectors(long unixSeconds, string code) =>
        Assert.Equal(code, Totp.Code(Rfc6238Secret, Totp.StepOf(DateTimeOffset.FromUnixTimeSeconds(unixSeconds))));

    [Theory]
    [InlineData("", "")]
    [InlineData("f", "MY")]
    [InlineData("fo", "MZXQ")]
    [InlineData("foo", "MZXW6")]
    [InlineData("foob", "MZXW6YQ")]
    [InlineData("fooba", "MZXW6YTB")]
    [InlineData("foobar", "MZXW6YTBOI")]
    public void Base32_is_rfc_4648_without_padding(string text, string encoded)
    {
        Assert.Equal(encoded, Totp.Base32(Encoding.ASCII.GetBytes(text)));
        Assert.Equal(text, Encoding.ASCII.GetString(Totp.FromBase32(encoded)));
    }

    [Fact]
    public void A_code_matches_within_the_skew_and_not_beyond()
    {
        var secret = Totp.NewSecret();
        var now = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);
        var step = Totp.StepOf(now);
        Assert.Equal(step, Totp.Match(secret, Totp.Code(secret, step), now, 1));
        Assert.Equal(step - 1, Totp.Match(secret, Totp.Code(secret, step - 1), now, 1));
        Assert.Equal(step + 1, Totp.Match(secret, Totp.Code(secret, step + 1), now, 1));
        Assert.Null(Totp.Match(secret, Totp.Code(secret, step - 2), now, 1));
        Assert.Null(Totp.Match(secret, Totp.Code(secret, step - 1), now, 0));
        Assert.Null(Totp.Match(secret, "12345", now, 1));
        Assert.Null(Totp.Match(secret, "abcdef", now, 1));
        Assert.Equal(32, secret.Length); // 160 bits
    }
}
