// FETCH BODYSTRUCTURE and BODY (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from a cached MessageStructure.
// BODY is the non-extensible form (no MD5, disposition, language, location, multipart
// parameters). IMAP4rev2 gives message/global the layout of message/rfc822 (RFC 9051 §7.5.2,
// RFC 6532 §3.7); IMAP4rev1 shows it as a basic part. Sizes and lines count CRLF line ends.
using System.Buffers;
using Mailward.Core.MailStore.Structure;

namespace Mailward.Protocols.Imap.Fetch;

public static class BodyStructureWriter
{
    /// <summary>BODYSTRUCTURE (extensible) or BODY of the message, as "(...)".</summary>
    public static byte[] BodyStructure(MessageStructure s, bool extensible, bool rev2 = false) =>
        ImapStrings.Render(w => Write(w, s.Root, extensible, rev2));

    private static readonly BodyPart EmptyPart = new();

    public static void Write(IBufferWriter<byte> w, BodyPart part, bool extensible, bool rev2)
    {
        ImapStrings.Ascii(w, "(");
        if (part.Kind == BodyPartKind.Multipart)
            Multipart(w, part, extensible, rev2);
        else
            Single(w, part, extensible, rev2);
        ImapStrings.Ascii(w, ")");
    }

    private static void Multipart(IBufferWriter<byte> w, BodyPart part, bool extensible, bool rev2)
    {
        foreach (var child in part.Parts)
            Write(w, child, extensible, rev2);
        if (part.Parts.Count == 0)
            Write(w, EmptyPart, extensible, rev2); // RFC 9051 §9 body-type-mpart needs one part; Dovecot shows an empty text part too
        ImapStrings.Ascii(w, " ");
        ImapStrings.Write(w, part.Subtype);
        if (!extensible)
            return;
        ImapStrings.Ascii(w, " ");
        Parameters(w, part.Parameters);
        Extension(w, part);
    }

    private static void Single(IBufferWriter<byte> w, BodyPart part, bool extensible, bool rev2)
    {
        ImapStrings.Write(w, part.Type);
        ImapStrings.Ascii(w, " ");
        ImapStrings.Write(w, part.Subtype);
        ImapStrings.Ascii(w, " ");
        var isText = part.Type.Equals("text", StringComparison.OrdinalIgnoreCase);
        // RFC 2045 §5.2, §4: text without a charset is us-ascii (Dovecot appends the parameter alike).
        Parameters(w, isText && !part.Parameters.Any(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase))
            ? [.. part.Parameters, new MimeParameter("charset", "us-ascii")] : part.Parameters);
        ImapStrings.Ascii(w, " ");
        ImapStrings.NString(w, part.Id);
        ImapStrings.Ascii(w, " ");
        ImapStrings.NString(w, part.Description);
        ImapStrings.Ascii(w, " ");
        ImapStrings.Write(w, part.Encoding ?? "7bit");
        ImapStrings.Ascii(w, " ");
        ImapStrings.Number(w, part.Body.Size);
        var global = part.Subtype.Equals("global", StringComparison.OrdinalIgnoreCase);
        if (part.Kind == BodyPartKind.Message && part.Message is { } inner && (rev2 || !global))
        {
            ImapStrings.Ascii(w, " ");
            EnvelopeWriter.Write(w, inner.Envelope ?? new Envelope(null, null, null, null, null, null, null, null, null, null));
            ImapStrings.Ascii(w, " ");
            Write(w, inner, extensible, rev2);
            ImapStrings.Ascii(w, " ");
            ImapStrings.Number(w, part.Body.Lines);
        }
        else if (isText)
        {
            ImapStrings.Ascii(w, " ");
            ImapStrings.Number(w, part.Body.Lines);
        }
        if (!extensible)
            return;
        ImapStrings.Ascii(w, " ");
        ImapStrings.NString(w, part.Md5);
        Extension(w, part);
    }

    /// <summary>body-fld-dsp, body-fld-lang, body-fld-loc (RFC 9051 §9 body-ext-1part / body-ext-mpart).</summary>
    private static void Extension(IBufferWriter<byte> w, BodyPart part)
    {
        ImapStrings.Ascii(w, " ");
        if (part.Disposition is null)
            ImapStrings.Nil(w);
        else
        {
            ImapStrings.Ascii(w, "(");
            ImapStrings.Write(w, part.Disposition);
            ImapStrings.Ascii(w, " ");
            Parameters(w, part.DispositionParameters);
            ImapStrings.Ascii(w, ")");
        }
        ImapStrings.Ascii(w, " ");
        if (part.Languages is not { Count: > 0 } languages)
            ImapStrings.Nil(w);
        else
        {
            ImapStrings.Ascii(w, "(");
            for (var i = 0; i < languages.Count; i++)
            {
                if (i > 0)
                    ImapStrings.Ascii(w, " ");
                ImapStrings.Write(w, languages[i]);
            }
            ImapStrings.Ascii(w, ")");
        }
        ImapStrings.Ascii(w, " ");
        ImapStrings.NString(w, part.Location);
    }

    private static void Parameters(IBufferWriter<byte> w, IReadOnlyList<MimeParameter> parameters)
    {
        if (parameters.Count == 0)
        {
            ImapStrings.Nil(w);
            return;
        }
        ImapStrings.Ascii(w, "(");
        for (var i = 0; i < parameters.Count; i++)
        {
            if (i > 0)
                ImapStrings.Ascii(w, " ");
            ImapStrings.Write(w, parameters[i].Name);
            ImapStrings.Ascii(w, " ");
            ImapStrings.Write(w, parameters[i].Value);
        }
        ImapStrings.Ascii(w, ")");
    }
}
