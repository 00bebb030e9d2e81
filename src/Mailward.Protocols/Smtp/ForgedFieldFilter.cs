// Removes, as the header streams in, the fields only this server may write: an Authentication-Results
// field whose authserv-id is this host's (RFC 8601 §5: one arriving from outside is forged) and any
// X-Mailward-* field (this server's own marks, such as the quarantine mark and X-Mailward-DNSBL).
// Resumable across chunks; whole lines only; past the header it passes bytes through untouched. Pure.
using System.Buffers;
using System.Text;
using Mailward.Core.Policy;

namespace Mailward.Protocols.Smtp;

internal sealed class ForgedFieldFilter(string authservId, int maxLineLength)
{
    /// <summary>An Authentication-Results field longer than this is dropped whole: nothing real is that long.</summary>
    private const int MaxHeldField = 64 * 1024;

    private enum Field
    {
        Pass,
        Hold, // an Authentication-Results field, kept until it ends to read its authserv-id
        Drop,
    }

    private readonly ArrayBufferWriter<byte> _out = new(4096);
    private readonly ArrayBufferWriter<byte> _line = new(256);
    private readonly ArrayBufferWriter<byte> _held = new(256);
    private Field _field = Field.Pass;
    private bool _inHeader = true;

    /// <summary>How many fields were removed.</summary>
    public int Removed { get; private set; }

    /// <summary>The bytes of <paramref name="input"/> to keep; valid until the next call.</summary>
    public ReadOnlyMemory<byte> Apply(ReadOnlyMemory<byte> input)
    {
        if (!_inHeader)
            return input;
        _out.ResetWrittenCount();
        var span = input.Span;
        var i = 0;
        while (i < span.Length && _inHeader)
        {
            var lf = span[i..].IndexOf((byte)'\n');
            if (lf < 0)
            {
                if (_line.WrittenCount + span.Length - i > maxLineLength + 2)
                {
                    // Longer than DATA accepts (the message is refused anyway): stop looking.
                    FlushPending();
                    _inHeader = false;
                    break;
                }
                _line.Write(span[i..]);
                i = span.Length;
                break;
            }
            var piece = span.Slice(i, lf + 1);
            i += lf + 1;
            if (_line.WrittenCount > 0)
            {
                _line.Write(piece);
                Line(_line.WrittenSpan);
                _line.ResetWrittenCount();
            }
            else
                Line(piece);
        }
        if (i < span.Length)
            _out.Write(span[i..]);
        return _out.WrittenMemory;
    }

    /// <summary>At the end of DATA: what is still held (a message that is all header ends inside it).</summary>
    public ReadOnlyMemory<byte> Finish()
    {
        _out.ResetWrittenCount();
        if (_inHeader)
        {
            EndField();
            _out.Write(_line.WrittenSpan);
            _line.ResetWrittenCount();
            _inHeader = false;
        }
        return _out.WrittenMemory;
    }

    private void FlushPending()
    {
        EndField();
        _out.Write(_line.WrittenSpan);
        _line.ResetWrittenCount();
    }

    private void Line(ReadOnlySpan<byte> line)
    {
        if (line[0] is (byte)'\r' or (byte)'\n')
        {
            EndField(); // the empty line: the header ends (RFC 5322 §2.1)
            _inHeader = false;
            _out.Write(line);
            return;
        }
        if (line[0] is (byte)' ' or (byte)'\t')
        {
            // A folded line continues the field above it (RFC 5322 §2.2.3).
            if (_field == Field.Pass)
                _out.Write(line);
            else if (_field == Field.Hold && _held.WrittenCount + line.Length <= MaxHeldField)
                _held.Write(line);
            else if (_field == Field.Hold)
            {
                _held.ResetWrittenCount();
                _field = Field.Drop;
                Removed++;
            }
            return;
        }
        EndField();
        var colon = line.IndexOf((byte)':');
        var name = colon > 0 ? line[..colon] : default;
        if (Ascii.EqualsIgnoreCase(name, "Authentication-Results"u8))
        {
            _field = Field.Hold;
            _held.Write(line);
        }
        else if (name.Length > 11 && Ascii.EqualsIgnoreCase(name[..11], "X-Mailward-"u8))
        {
            _field = Field.Drop;
            Removed++;
        }
        else
        {
            _field = Field.Pass;
            _out.Write(line);
        }
    }

    private void EndField()
    {
        if (_field == Field.Hold)
        {
            var field = _held.WrittenSpan;
            var value = Encoding.Latin1.GetString(field[(field.IndexOf((byte)':') + 1)..]);
            if (AuthenticationResults.ClaimsHost(value, authservId))
                Removed++;
            else
                _out.Write(field);
            _held.ResetWrittenCount();
        }
        _field = Field.Pass;
    }
}
