// The modified UTF-7 codec (RFC 3501 §5.1.3): the RFC's example, '&', surrogate pairs, and every
// way input can be invalid or non-canonical (rejected, so a folder directory with such a name is
// read as UTF-8 instead).
using Mailward.Core.MailStore;

namespace Mailward.Tests.MailStore;

public sealed class ModifiedUtf7Tests
{
    [Theory]
    [InlineData("INBOX", "INBOX")]
    [InlineData("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-")] // RFC 3501 §5.1.3
    [InlineData("Tom&Jerry", "Tom&-Jerry")]
    [InlineData("&", "&-")]
    [InlineData("Été", "&AMk-t&AOk-")]
    [InlineData("aébè", "a&AOk-b&AOg-")]
    [InlineData("😀", "&2D3eAA-")] // a surrogate pair in one shift
    [InlineData("", "")]
    public void Encodes_and_decodes_both_ways(string name, string encoded)
    {
        Assert.Equal(encoded, ModifiedUtf7.Encode(name));
        Assert.True(ModifiedUtf7.TryDecode(encoded, out var decoded));
        Assert.Equal(name, decoded);
        Assert.Equal(name, ModifiedUtf7.Decode(encoded));
    }

    [Theory]
    [InlineData("&AMk")] // no '-' to end the shift
    [InlineData("&AGE-")] // 'a' inside a shift: printable ASCII stands for itself
    [InlineData("&AMk-&AOk-")] // two shifts in a row
    [InlineData("&2D0-")] // a lone high surrogate
    [InlineData("&3gA-")] // a lone low surrogate
    [InlineData("&AM-")] // 12 bits: not a whole UTF-16 unit
    [InlineData("&AMl-")] // fill bits not zero
    [InlineData("&*-")] // not base64
    [InlineData("&AMk/-")] // '/' is ',' in modified base64
    [InlineData("Été")] // not ASCII: a UTF-8 name
    [InlineData("a\tb")] // a control character
    public void Rejects_invalid_and_non_canonical_input(string encoded)
    {
        Assert.False(ModifiedUtf7.TryDecode(encoded, out _));
        Assert.Throws<FormatException>(() => ModifiedUtf7.Decode(encoded));
    }

    [Fact]
    public void A_lone_surrogate_cannot_be_encoded()
    {
        Assert.Throws<ArgumentException>(() => ModifiedUtf7.Encode("a\ud800b"));
    }

    [Fact]
    public void Every_character_round_trips()
    {
        for (var c = 1; c < 0x10000; c += 7)
        {
            if (c is >= 0xd800 and < 0xe000)
                continue;
            var name = $"x{(char)c}y{(char)c}{(char)c}";
            Assert.Equal(name, ModifiedUtf7.Decode(ModifiedUtf7.Encode(name)));
        }
    }
}
