// The DATA phase as a pure, resumable, bounded parser (RFC 5321 §4.1.1.4, §4.5.2): finds the
// end of data (CRLF "." CRLF and nothing else), removes dot-stuffing, and checks size, line
// length, bare CR/LF (the 2023 SMTP smuggling attacks, §2.3.8) and hop count (§6.3). Past the
// first problem it only looks for the end, discarding the rest: input is never buffered.
using System.Buffers;

namespace Mailward.Protocols.Smtp;

public enum DataProblem
{
    None,
    TooBig,
    LineTooLong,
    BareLineEnd,
    TooManyHops,
}

public sealed class DataReader(long maxBytes, int maxLineLength, int maxHops)
{
    private enum State
    {
        LineStart,
        InLine,
        SawCr,
        Dot,
        DotCr,
    }

    private State _state = State.LineStart;
    private int _lineLength;
    private bool _inHeaders = true;
    private readonly byte[] _prefix = new byte[13];
    private int _prefixLength;

    public long BodyBytes { get; private set; }
    public int Hops { get; private set; }
    public DataProblem Problem { get; private set; }
    public bool Complete { get; private set; }

    private static readonly SearchValues<byte> LineEnds = SearchValues.Create("\r\n"u8);

    /// <summary>
    /// Consumes <paramref name="input"/>, writing accepted body bytes (CRLF line ends, dots
    /// unstuffed) to <paramref name="output"/>. Returns how many bytes were consumed: all of them,
    /// or up to and including the end-of-data line once <see cref="Complete"/> is set.
    /// </summary>
    public int Feed(ReadOnlySpan<byte> input, IBufferWriter<byte> output)
    {
        var i = 0;
        while (i < input.Length && !Complete)
        {
            var b = input[i];
            switch (_state)
            {
                case State.LineStart:
                    if (b == (byte)'.')
                    {
                        _state = State.Dot;
                        i++;
                    }
                    else
                        _state = State.InLine;
                    break;
                case State.Dot:
                    if (b == (byte)'\r')
                    {
                        _state = State.DotCr;
                        i++;
                    }
                    else
                        _state = State.InLine; // a stuffed dot: dropped, the line goes on (§4.5.2)
                    break;
                case State.DotCr:
                    i++;
                    if (b == (byte)'\n')
                        Complete = true;
                    else
                    {
                        // ".\r" then something else: a bare CR. The dot was content.
                        Fail(DataProblem.BareLineEnd);
                        _state = State.InLine;
                        i--;
                    }
                    break;
                case State.SawCr:
                    if (b == (byte)'\n')
                    {
                        i++;
                        EndLine(output);
                    }
                    else
                    {
                        Fail(DataProblem.BareLineEnd);
                        _state = State.InLine;
                    }
                    break;
                default: // InLine: copy the run up to the next CR or LF in one go
                    var rest = input[i..];
                    var run = rest.IndexOfAny(LineEnds);
                    var content = run < 0 ? rest : rest[..run];
                    Content(content, output);
                    i += content.Length;
                    if (run >= 0)
                    {
                        if (rest[run] == (byte)'\r')
                            _state = State.SawCr;
                        else
                            Fail(DataProblem.BareLineEnd); // a bare LF never ends a line here
                        i++;
                    }
                    break;
            }
        }
        return i;
    }

    private void Content(ReadOnlySpan<byte> content, IBufferWriter<byte> output)
    {
        if (content.Length == 0)
            return;
        if (_inHeaders && _prefixLength < _prefix.Length)
        {
            var n = Math.Min(_prefix.Length - _prefixLength, content.Length);
            content[..n].CopyTo(_prefix.AsSpan(_prefixLength));
            _prefixLength += n;
        }
        _lineLength += content.Length;
        if (_lineLength > maxLineLength)
            Fail(DataProblem.LineTooLong);
        Write(content, output);
    }

    private void EndLine(IBufferWriter<byte> output)
    {
        if (_inHeaders)
        {
            if (_lineLength == 0)
                _inHeaders = false;
            else if (StartsWith("received:"u8) || StartsWith("delivered-to:"u8))
            {
                if (++Hops > maxHops)
                    Fail(DataProblem.TooManyHops);
            }
        }
        _lineLength = 0;
        _prefixLength = 0;
        _state = State.LineStart;
        Write("\r\n"u8, output);
    }

    private bool StartsWith(ReadOnlySpan<byte> name) =>
        _prefixLength >= name.Length && System.Text.Ascii.EqualsIgnoreCase(_prefix.AsSpan(0, name.Length), name);

    private void Write(ReadOnlySpan<byte> bytes, IBufferWriter<byte> output)
    {
        if (Problem != DataProblem.None)
            return;
        BodyBytes += bytes.Length;
        if (BodyBytes > maxBytes)
        {
            Fail(DataProblem.TooBig);
            return;
        }
        output.Write(bytes);
    }

    private void Fail(DataProblem problem)
    {
        if (Problem == DataProblem.None)
            Problem = problem;
    }
}
