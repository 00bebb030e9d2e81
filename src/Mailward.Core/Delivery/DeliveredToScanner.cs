// qmail-local's loop check: watches a message's header for a Delivered-To line naming one of the
// given recipients. SMTP runs it as DATA streams (so a loop is refused, 554 5.4.6, before the 250
// instead of bounced to a sender that may be forged); local delivery runs it again on the queued
// body. Resumable across chunks, bounded (one short line held), pure.
using System.Text;

namespace Mailward.Core.Delivery;

public sealed class DeliveredToScanner(HashSet<string> recipients)
{
    private static readonly byte[] Name = "delivered-to:"u8.ToArray();
    private const int MaxLine = 13 + 512; // the field name and the longest address worth comparing

    private readonly byte[] _line = new byte[MaxLine];
    private int _length;
    private bool _tooLong;
    private bool _done;

    /// <summary>The first recipient a Delivered-To line names (as the recipient is spelled), once seen.</summary>
    public string? Looping { get; private set; }

    public void Scan(ReadOnlySpan<byte> chunk)
    {
        for (var i = 0; i < chunk.Length && !_done; i++)
        {
            var b = chunk[i];
            if (b == (byte)'\n')
            {
                EndLine();
                continue;
            }
            if (b == (byte)'\r')
                continue;
            if (_length < MaxLine)
                _line[_length++] = b;
            else
                _tooLong = true;
        }
    }

    private void EndLine()
    {
        if (_length == 0)
            _done = true; // the blank line: the header is over (RFC 5322 §2.1)
        else if (!_tooLong && Looping is null && _length > Name.Length && Ascii.EqualsIgnoreCase(_line.AsSpan(0, Name.Length), Name))
        {
            var value = Encoding.Latin1.GetString(_line, Name.Length, _length - Name.Length).Trim();
            if (recipients.TryGetValue(value, out var recipient))
                Looping = recipient;
        }
        _length = 0;
        _tooLong = false;
    }
}
