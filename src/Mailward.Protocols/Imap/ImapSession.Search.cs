// SEARCH, UID SEARCH with ESEARCH's RETURN (RFC 9051 §6.4.4, RFC 4731), SORT and THREAD (RFC 5256)
// over the search components (Imap/Search): the session gives them each message's facts from its
// view and the mailbox entries, header fields from the folder's structure cache (the message file
// only for a field the cache does not keep), and the message text as a stream for BODY and TEXT.
using System.Text;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Structure;
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
        var hits = new List<SearchHit>();
        var context = Context();
        foreach (var m in Facts())
        {
            if (query.NeedsHeaders)
                await m.LoadFieldsAsync(ct);
            if (await query.MatchesAsync(m, context, ct))
                hits.Add(new SearchHit(m.Sequence, m.Uid, m.ModSeq));
        }
        return hits;
    }

    private async Task<List<ISearchMessage>> MatchingAsync(SearchQuery query, bool uid, CancellationToken ct)
    {
        await AnnounceChangesAsync(allowExpunge: uid, ct, force: false);
        var matched = new List<ISearchMessage>();
        var context = Context();
        foreach (var m in Facts())
        {
            await m.LoadFieldsAsync(ct); // SORT and THREAD keys are header fields
            if (await query.MatchesAsync(m, context, ct))
                matched.Add(m);
        }
        return matched;
    }

    private SearchContext Context()
    {
        var view = _selected!.View;
        return new SearchContext((uint)view.Count, view.Count == 0 ? 0 : view.UidAt(view.Count), TimeZoneInfo.Utc);
    }

    /// <summary>The messages of the view that still exist, in message-number order.</summary>
    private IEnumerable<MessageFacts> Facts()
    {
        var s = _selected!;
        for (var seq = 1; seq <= s.View.Count; seq++)
        {
            var uid = s.View.UidAt(seq);
            if (Find(s.Mailbox.Entries, uid) is { } entry)
                yield return new MessageFacts(s.Mailbox, entry, (uint)seq);
        }
    }

    /// <summary>
    /// One message's facts. Header fields come from the structure cache (LoadFieldsAsync, before a
    /// key reads them); a field the cache does not keep, or a message whose record has none, is read
    /// from the file, at most once per command.
    /// </summary>
    private sealed class MessageFacts(IMailbox mailbox, MailboxEntry entry, uint sequence) : ISearchMessage
    {
        private IReadOnlyList<HeaderField>? _fields;
        private HeaderList? _headers;

        public uint Sequence => sequence;
        public uint Uid => entry.Uid;
        public MessageFlags Flags => entry.Flags;
        public IReadOnlyList<string> Keywords => entry.Keywords;
        public long Size => mailbox.VirtualSizeOf(entry);
        public DateTimeOffset InternalDate => entry.InternalDate;
        public ulong ModSeq => entry.ModSeq;

        public async Task LoadFieldsAsync(CancellationToken ct) =>
            _fields ??= (await mailbox.StructureAsync(entry.Uid, ct))?.SearchFields;

        public IReadOnlyList<string> HeaderValues(string name)
        {
            var values = new List<string>();
            if (_fields is not null && MessageStructure.SearchFieldNames.Contains(name))
            {
                foreach (var f in _fields)
                    if (f.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                        values.Add(Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(f.Value)).Trim()); // the octets, read as the file read is
                return values;
            }
            _headers ??= ReadHeaders();
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

        private MessageReaderStream? Open() => mailbox.OpenMessage(entry.Uid) is { } reader ? new MessageReaderStream(reader, ownsReader: true) : null;

        public ValueTask<Stream> OpenAsync(CancellationToken ct) => ValueTask.FromResult<Stream>(Open() ?? (Stream)new MemoryStream([]));
    }
}
