// A hand-made ISearchMessage for the SEARCH, SORT and THREAD tests: facts given directly, header
// fields read from the raw text the way the session's cache hands them over (raw, folded), and a
// count of how often the message was opened.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Protocols.Imap.Search;

namespace Mailward.Tests.Imap;

internal sealed class SearchTestMessage : ISearchMessage
{
    private readonly string _raw;

    public SearchTestMessage(uint sequence, string raw, MessageFlags flags = MessageFlags.None, DateTimeOffset? internalDate = null, uint? uid = null)
    {
        Sequence = sequence;
        Uid = uid ?? sequence * 10;
        _raw = raw;
        Flags = flags;
        InternalDate = internalDate ?? new DateTimeOffset(2024, 1, 1, 12, 0, 0, TimeSpan.Zero).AddDays(sequence);
        Size = Encoding.UTF8.GetByteCount(raw.ReplaceLineEndings("\r\n"));
    }

    /// <summary>A message from header lines and a body ("Subject: x", ...).</summary>
    public static SearchTestMessage Of(uint sequence, string headers, string body = "body\n", MessageFlags flags = MessageFlags.None) =>
        new(sequence, headers.TrimEnd('\n') + "\n\n" + body, flags);

    public uint Sequence { get; }

    public uint Uid { get; }

    public MessageFlags Flags { get; init; }

    public IReadOnlyList<string> Keywords { get; init; } = [];

    public long Size { get; init; }

    public DateTimeOffset InternalDate { get; init; }

    public ulong ModSeq { get; init; } = 1;

    public int Opened { get; private set; }

    public IReadOnlyList<string> HeaderValues(string name)
    {
        var values = new List<string>();
        string? current = null;
        foreach (var line in _raw.Split('\n'))
        {
            if (line.Length == 0 || line == "\r")
                break;
            if (line[0] is ' ' or '\t')
            {
                if (current is not null)
                    values[^1] += "\r\n" + line.TrimEnd('\r');
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            current = colon > 0 && line[..colon].Trim().Equals(name, StringComparison.OrdinalIgnoreCase) ? line : null;
            if (current is not null)
                values.Add(line[(colon + 1)..].TrimStart().TrimEnd('\r'));
        }
        return values;
    }

    public ValueTask<Stream> OpenAsync(CancellationToken ct)
    {
        Opened++;
        return ValueTask.FromResult<Stream>(new MemoryStream(Encoding.UTF8.GetBytes(_raw)));
    }
}
