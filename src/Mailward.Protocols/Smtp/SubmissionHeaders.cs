// RFC 6409 §8.2 and §8.3: a submitted message without Date or Message-ID gets them. Watches the
// message's header as it streams (resumable across chunks, line starts only), and tells where the
// header ends so the missing fields go in just before the blank line. Pure; no I/O.
using System.Text;

namespace Mailward.Protocols.Smtp;

internal sealed class SubmissionHeaders
{
    private const int MaxName = 16;
    private readonly StringBuilder _name = new(MaxName);
    private bool _atLineStart = true;
    private bool _inName = true;
    private bool _done;
    private bool _hasDate;
    private bool _hasMessageId;

    public bool HeaderComplete => _done;

    /// <summary>
    /// Scans <paramref name="chunk"/>; returns the offset where the blank line that ends the header
    /// begins, when it lies in this chunk, else -1.
    /// </summary>
    public int Scan(ReadOnlySpan<byte> chunk)
    {
        if (_done)
            return -1;
        for (var i = 0; i < chunk.Length; i++)
        {
            var b = chunk[i];
            if (_atLineStart && (b == (byte)'\r' || b == (byte)'\n'))
            {
                _done = true; // an empty line: the header ends here (RFC 5322 §2.1)
                return i;
            }
            if (_atLineStart)
            {
                _name.Clear();
                _inName = b != (byte)' ' && b != (byte)'\t'; // a folded line continues the previous field
            }
            _atLineStart = b == (byte)'\n';
            if (!_inName || _atLineStart)
                continue;
            if (b == (byte)':')
            {
                var name = _name.ToString();
                _hasDate |= name.Equals("Date", StringComparison.OrdinalIgnoreCase);
                _hasMessageId |= name.Equals("Message-ID", StringComparison.OrdinalIgnoreCase);
                _inName = false;
            }
            else if (_name.Length < MaxName)
                _name.Append((char)b);
            else
                _inName = false;
        }
        return -1;
    }

    /// <summary>The fields to add (CRLF-terminated), empty when the message has both.</summary>
    public byte[] Missing(string hostname, string queueId, DateTimeOffset now)
    {
        var sb = new StringBuilder();
        if (!_hasDate)
            sb.Append("Date: ").Append(SmtpSession.Rfc5322Date(now)).Append("\r\n");
        if (!_hasMessageId)
            sb.Append("Message-ID: <").Append(queueId).Append('.').Append(now.ToUnixTimeMilliseconds()).Append('@').Append(hostname).Append(">\r\n");
        return Encoding.ASCII.GetBytes(sb.ToString());
    }
}
