// ENVELOPE and BODYSTRUCTURE rendering details that the Dovecot corpus does not pin down on its
// own: groups (RFC 9051 §7.5.2), nstring quoting and literals (§4.3), message/global in IMAP4rev2.
using System.Text;
using Mailward.Core.MailStore.Structure;
using Mailward.Protocols.Imap.Fetch;

namespace Mailward.Tests.Imap;

public class EnvelopeWriterTests
{
    private static MessageStructure Parse(string text) => StructureParser.Parse(new MemoryStream(Encoding.Latin1.GetBytes(text)));

    private static string Envelope(string text) => Encoding.Latin1.GetString(EnvelopeWriter.Envelope(Parse(text)));

    [Fact]
    public void Groups_are_start_and_end_markers()
    {
        var e = Envelope("From: a@b.c\nTo: Friends: x@y.z, \"W V\" <w@v.u>;, solo@s.t\nCc: undisclosed-recipients:;\nSubject: g\n\n");
        Assert.Contains("((NIL NIL \"Friends\" NIL)(NIL NIL \"x\" \"y.z\")(\"W V\" NIL \"w\" \"v.u\")(NIL NIL NIL NIL)(NIL NIL \"solo\" \"s.t\"))", e, StringComparison.Ordinal);
        Assert.Contains("((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL))", e, StringComparison.Ordinal);
    }

    [Fact]
    public void Encoded_words_stay_raw_and_eight_bit_goes_as_a_literal()
    {
        var e = Envelope("From: =?utf-8?q?J=C3=B6rg?= <j@example.de>\nSubject: K\xc3\xb6ln\n\n");
        Assert.Contains("((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"example.de\"))", e, StringComparison.Ordinal);
        Assert.Contains("{5}\r\nK\xc3\xb6ln", e, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_without_headers_has_an_envelope_of_nils()
    {
        Assert.Equal("(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)", Envelope("\nbody\n"));
    }

    [Fact]
    public void Message_global_has_the_message_layout_only_in_imap4rev2()
    {
        var s = Parse("Content-Type: message/global\n\nSubject: inner\n\nbody\n");
        var rev1 = Encoding.Latin1.GetString(BodyStructureWriter.BodyStructure(s, extensible: false));
        var rev2 = Encoding.Latin1.GetString(BodyStructureWriter.BodyStructure(s, extensible: false, rev2: true));
        Assert.StartsWith("(\"message\" \"global\" NIL NIL NIL \"7bit\" 24)", rev1, StringComparison.Ordinal);
        Assert.Contains("(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL)", rev2, StringComparison.Ordinal);
    }
}
