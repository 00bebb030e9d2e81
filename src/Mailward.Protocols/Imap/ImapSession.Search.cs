// SEARCH, UID SEARCH with ESEARCH's RETURN (RFC 9051 §6.4.4, RFC 4731), SORT and THREAD (RFC 5256)
// over the search components (Imap/Search): the session gives them each message's facts from its
// view and the mailbox entries, headers parsed once per message and command, and the message text
// as a stream for BODY and TEXT.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Protocols.Imap.Search;
using MimeKit;

namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    private async Task<bool> SearchAsync(string tag, IReadOnlyList<ImapToken> args, bool uid, CancellationToken ct)
    {
        if (SearchQuery.Parse(args, 0, out var error) is not { } query)
            return Refuse(tag, error!);
        if (query.UsesModSeq)
            EnableCondStore();
        var hits = await RunSearchAsync(query, uid, ct);
        if (query.Return is { } returns)
        {
            // RFC 4731: ESEARCH with the tag; nothing at all when no option asks for anything.
            if (SearchResponses.ESearch(tag, hits, uid, returns, query.UsesModSeq) is { } line)
                _channel.Reply(line); // the search components write the whole line, "* " included
        }
        else
        {
            _channel.Reply(SearchResponses.Search(hits, uid, query.UsesModSeq));
        }
        return Ok(tag, "SEARCH completed");
    }

    private async Task<bool> SortAsync(string tag, IReadOnlyList<ImapToken> args, bool uid, CancellationToken ct)
    {
        if (SortRequest.Parse(args, 0, out var error) is not { } request)
            return Refuse(tag, error!);
        var matched = await MatchingAsync(request.Query, uid, ct);
        _channel.Reply(SearchResponses.Sort(Sorter.Sort(matched, request.Criteria), uid));
        return Ok(tag, "SORT completed");
    }

    private async Task<bool> ThreadAsync(string tag, IReadOnlyList<ImapToken> args, bool uid, CancellationToken ct)
    {
        if (ThreadRequest.Parse(args, 0, out var error) is not { } request)
            return Refuse(tag, error!);
        var matched = await MatchingAsync(request.Query, uid, ct);
        _channel.Reply(SearchResponses.Thread(Threader.Thread(matched, request.Algorithm), uid));
        return Ok(tag, "THREAD completed");
    }

    private bool Refuse(string tag, SearchError error) => error.Status == "NO" ? No(tag, error.Text) : Bad(tag, error.Text);

    private async Task<IReadOnlyList<SearchHit>> RunSearchAsync(SearchQuery query, bool uid, CancellationToken ct)
    {
        await AnnounceChangesAsync(allowExpunge: uid, ct, force: false);
        return await query.RunAsync(Facts(), Context(), ct);
    }

    private async Task<List<ISearchMessage>> MatchingAsync(SearchQuery query, bool uid, CancellationToken ct)
    {
        await AnnounceChangesAsync(allowExpunge: uid, ct, force: false);
        var matched = new List<ISearchMessage>();
        var context = Context();
        foreach (var m in Facts())
            if (await query.MatchesAsync(m, context, ct))
                matched.Add(m);
        return matched;
    }

    private SearchContext Context()
    {
        var view = _selected!.View;
        return new SearchContext((uint)view.Count, view.Count == 0 ? 0 : view.UidAt(view.Count), TimeZoneInfo.Utc);
    }

    /// <summary>The messages of the view that still exist, in message-number order.</summary>
    private IEnumerable<ISearchMessage> Facts()
    {
        var s = _selected!;
        for (var seq = 1; seq <= s.View.Count; seq++)
        {
            var uid = s.View.UidAt(seq);
            if (Find(s.Mailbox.Entries, uid) is { } entry)
                yield return new MessageFacts(s.Mailbox, entry, (uint)seq);
        }
    }

    /// <summary>One message's facts; its header is read from the file at most once, and only when a key needs it.</summary>
    private sealed class MessageFacts(IMailbox mailbox, MailboxEntry entry, uint sequence) : ISearchMessage
    {
        private HeaderList? _headers;

        public uint Sequence => sequence;
        public uint Uid => entry.Uid;
        public MessageFlags Flags => entry.Flags;
        public IReadOnlyList<string> Keywords => entry.Keywords;
        public long Size => entry.VirtualSize;
        public DateTimeOffset InternalDate => entry.InternalDate;
        public ulong ModSeq => entry.ModSeq;

        public IReadOnlyList<string> HeaderValues(string name)
        {
            _headers ??= ReadHeaders();
            var values = new List<string>();
            foreach (var h in _headers)
                if (h.Field.Equals(name, StringComparison.OrdinalIgnoreCase))
                    values.Add(Encoding.UTF8.GetString(h.RawValue).Trim());
            return values;
        }

        private HeaderList ReadHeaders()
        {
            using var stream = Open();
            if (stream is null)
                return [];
            try
            {
                return HeaderList.Load(stream);
            }
            catch (FormatException)
            {
                return [];
            }
        }

        private MessageStream? Open() => mailbox.OpenMessage(entry.Uid) is { } reader ? new MessageStream(reader) : null;

        public ValueTask<Stream> OpenAsync(CancellationToken ct) => ValueTask.FromResult<Stream>(Open() ?? (Stream)new MemoryStream([]));
    }

    /// <summary>A stored message as a read-only stream (the store's reader is a plain positioned reader).</summary>
    private sealed class MessageStream(MessageReader reader) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => reader.Read(buffer.AsSpan(offset, count));
        public override int Read(Span<byte> buffer) => reader.Read(buffer);
        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                reader.Dispose();
            base.Dispose(disposing);
        }
    }
}
