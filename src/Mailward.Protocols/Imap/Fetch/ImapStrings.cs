// IMAP strings on the wire (RFC 9051 §4.3, RFC 3501 §4.3): NIL, a quoted string when every octet
// may stand in one (no CR, LF, NUL or 8-bit; '"' and '\' escaped), else a literal {n}CRLF....
// Values are octet strings (one char per octet), as MessageStructure holds them.
using System.Buffers;
using System.Globalization;
using System.Text;
using Mailward.Core.Buffers;

namespace Mailward.Protocols.Imap.Fetch;

public static class ImapStrings
{
    /// <summary>
    /// Message octets into a literal: a literal may not carry NUL (RFC 9051 §4.3, CHAR8; only BINARY's
    /// literal8 may), so a stored NUL goes as 0x80, as Dovecot sends it; the length stays the same.
    /// </summary>
    public static void WriteLiteralOctets(IBufferWriter<byte> w, ReadOnlySpan<byte> bytes)
    {
        if (bytes.IndexOf((byte)0) < 0)
        {
            w.Write(bytes);
            return;
        }
        var span = w.GetSpan(bytes.Length)[..bytes.Length];
        bytes.CopyTo(span);
        span.Replace((byte)0, (byte)0x80);
        w.Advance(bytes.Length);
    }

    public static void Nil(IBufferWriter<byte> w) => Ascii(w, "NIL");

    /// <summary>An nstring: NIL for null, else a string.</summary>
    public static void NString(IBufferWriter<byte> w, string? octets)
    {
        if (octets is null)
            Nil(w);
        else
            Write(w, octets);
    }

    public static void Write(IBufferWriter<byte> w, string octets)
    {
        if (NeedsLiteral(octets))
        {
            Ascii(w, "{" + octets.Length.ToString(CultureInfo.InvariantCulture) + "}\r\n");
            Octets(w, octets);
            return;
        }
        var span = w.GetSpan(octets.Length * 2 + 2);
        var n = 0;
        span[n++] = (byte)'"';
        foreach (var c in octets)
        {
            if (c is '"' or '\\')
                span[n++] = (byte)'\\';
            span[n++] = (byte)c;
        }
        span[n++] = (byte)'"';
        w.Advance(n);
    }

    /// <summary>
    /// A header text for people to read (ENVELOPE subject and names), as Dovecot writes it: runs of
    /// whitespace, CR and LF become one space, leading and trailing whitespace go, NUL becomes
    /// 0x80; a value that needed any change (or holds '"', '\' or 8-bit) goes as a literal.
    /// </summary>
    public static void ForHumans(IBufferWriter<byte> w, string? octets)
    {
        if (octets is null)
        {
            Nil(w);
            return;
        }
        var modify = false;
        var lastSpace = true;
        foreach (var c in octets)
        {
            if (c is '\r' or '\n' or '\t' || (c == ' ' && lastSpace) || c is '"' or '\\' or '\0' || c > '\x7f')
                modify = true;
            lastSpace = c is ' ' or '\t' or '\r' or '\n';
        }
        if (lastSpace && octets.Length > 0)
            modify = true;
        if (!modify)
        {
            Write(w, octets);
            return;
        }
        var sb = new StringBuilder(octets.Length);
        lastSpace = true;
        foreach (var c in octets)
        {
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                if (!lastSpace)
                    sb.Append(' ');
                lastSpace = true;
            }
            else
            {
                sb.Append(c == '\0' ? '\x80' : c);
                lastSpace = false;
            }
        }
        if (lastSpace && sb.Length > 0)
            sb.Length--;
        if (sb.Length == 0)
        {
            Ascii(w, "\"\"");
            return;
        }
        Ascii(w, "{" + sb.Length.ToString(CultureInfo.InvariantCulture) + "}\r\n");
        Octets(w, sb.ToString());
    }

    /// <summary>An nstring of a header value with its line breaks removed (date, message-id, in-reply-to).</summary>
    public static void NStringNoLf(IBufferWriter<byte> w, string? octets) =>
        NString(w, octets?.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal));

    /// <summary>RFC 9051 §4.3: a quoted string holds neither CR, LF nor NUL; 8-bit goes in literals too.</summary>
    public static bool NeedsLiteral(string octets)
    {
        foreach (var c in octets)
            if (c is '\r' or '\n' or '\0' || c > '\x7f')
                return true;
        return false;
    }

    public static void Ascii(IBufferWriter<byte> w, string text)
    {
        var n = Encoding.ASCII.GetBytes(text, w.GetSpan(text.Length));
        w.Advance(n);
    }

    public static void Octets(IBufferWriter<byte> w, string octets)
    {
        var n = Encoding.Latin1.GetBytes(octets, w.GetSpan(octets.Length));
        w.Advance(n);
    }

    public static void Number(IBufferWriter<byte> w, long value) => Ascii(w, value.ToString(CultureInfo.InvariantCulture));

    /// <summary>What a writer holds, as bytes (for callers that want a whole item at once).</summary>
    public static byte[] Render(Action<IBufferWriter<byte>> write)
    {
        var buffer = ThreadWriter.Take();
        write(buffer);
        return ThreadWriter.CopyAndKeep(buffer);
    }
}
