// APPEND (RFC 9051 §6.3.12, UIDPLUS RFC 4315): the message literal is streamed from the connection
// into the mail store (tmp, fsync, rename: the store's append), never held whole in memory, and
// bounded by APPENDLIMIT (RFC 7889) and the minimum data rate. A literal that is refused is still
// read when it is non-synchronizing (RFC 7888 §4), so its bytes are never taken for commands.
using System.Globalization;
using Mailward.Core.MailStore;
using Mailward.Protocols.Common;

namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    /// <summary>
    /// Called by the command reader at APPEND's message literal, with the arguments before it.
    /// Answers the command; false when the session must close.
    /// </summary>
    private async Task<bool> AppendAsync(string tag, IReadOnlyList<ImapToken> args, long size, bool sync, bool binary, CancellationToken ct)
    {
        if (!Authenticated)
            return await RefuseLiteralAsync(tag, size, sync, "BAD log in first", ct);
        if (size > options.AppendLimit)
            return await RefuseLiteralAsync(tag, size, sync, $"NO [TOOBIG] the message is larger than APPENDLIMIT {options.AppendLimit}", ct);
        if (args.Count is < 1 or > 3)
            return await RefuseLiteralAsync(tag, size, sync, "BAD APPEND mailbox [(flags)] [date-time] literal", ct);
        var flags = MessageFlags.None;
        List<string> keywords = [];
        var date = _time.GetUtcNow();
        foreach (var a in args.Skip(1))
        {
            if (a.Kind == ImapTokenKind.List && ParseFlags(a.Items) is { } parsed)
                (flags, keywords) = parsed;
            else if (a.Kind == ImapTokenKind.Text && ParseDateTime(a.Text) is { } d)
                date = d;
            else
                return await RefuseLiteralAsync(tag, size, sync, "BAD invalid flags or date-time", ct);
        }
        string? name;
        try
        {
            name = Names.ToStore(FromClient(args[0].AString ?? ""));
        }
        catch (ImapFolderException e)
        {
            return await RefuseLiteralAsync(tag, size, sync, "NO " + e.Message, ct);
        }
        IMailbox? box = null;
        try
        {
            if (name is not null)
                box = await services.Store.OpenAsync(_owner!, name, ct);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or ArgumentException)
        {
        }
        if (box is null)
            return await RefuseLiteralAsync(tag, size, sync, "NO [TRYCREATE] no such mailbox", ct);
        using (box)
        {
            if (sync)
            {
                _channel.Reply("+ Ready for literal data");
                await _channel.FlushAsync(ct);
            }
            var literal = new LiteralStream(_channel, size, new MinDataRate(options.MinDataRateBytesPerSecond, options.MinDataRateGrace), CurrentTimeout, ct);
            uint uid;
            try
            {
                // A literal8 (RFC 3516 §4.4) is checked as it streams: ImapSession.Binary.cs.
                uid = await box.AppendAsync(binary ? new Literal8Stream(literal) : literal, flags, keywords, date, ct);
            }
            catch (Exception e) when (e is MailboxOverQuotaException or MessageTooLargeException or BareLineEndException)
            {
                // Refused by the store: the rest of the literal is still the client's message, never a command.
                if (!await SkipAsync(literal.Left, ct) || await _channel.ReadLineAsync(ct) is null)
                    return false;
                Tagged(tag, e switch
                {
                    MailboxOverQuotaException => "NO [OVERQUOTA] the mailbox is over its quota (RFC 9208 §4.3)",
                    BareLineEndException => "NO [UNKNOWN-CTE] " + e.Message,
                    _ => "NO [TOOBIG] the message is too large",
                });
                return true;
            }
            if (!literal.Complete)
                throw new IOException("the mail store did not read the whole message literal");
            // The rest of the command line: nothing (MULTIAPPEND is not offered).
            var rest = await _channel.ReadLineAsync(ct);
            if (rest is null)
                return false;
            if (rest.Length > 0)
                return Bad(tag, "unexpected text after the message literal");
            if (_selected is { } s && s.Mailbox.Folder == box.Folder)
                await AnnounceChangesAsync(allowExpunge: false, ct);
            return Ok(tag, $"[APPENDUID {box.UidValidity} {uid}] APPEND completed");
        }
    }

    /// <summary>Refuses an APPEND at its literal: a synchronizing one is never sent; a non-synchronizing one is read and dropped.</summary>
    private async Task<bool> RefuseLiteralAsync(string tag, long size, bool sync, string answer, CancellationToken ct)
    {
        if (!sync)
        {
            if (size > options.AppendLimit)
            {
                await TooBigAndCloseAsync(ct);
                return false;
            }
            if (!await SkipAsync(size, ct))
                return false;
            var rest = await _channel.ReadLineAsync(ct);
            if (rest is null)
                return false;
        }
        if (answer.StartsWith("BAD ", StringComparison.Ordinal))
            return Bad(tag, answer[4..]);
        Tagged(tag, answer);
        return true;
    }

    /// <summary>date-time (RFC 9051 §9): "dd-Mon-yyyy hh:mm:ss +zzzz", the day may have a leading space.</summary>
    private static DateTimeOffset? ParseDateTime(string text) =>
        DateTimeOffset.TryParseExact(text.Trim(), ["d-MMM-yyyy HH:mm:ss zzz"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var d)
            ? d : null;

    /// <summary>A literal's octets as a read-only stream over the line channel; Complete once all were read.</summary>
    private sealed class LiteralStream(LineChannel channel, long size, MinDataRate rate, TimeSpan timeout, CancellationToken sessionCt) : Stream
    {
        private readonly long _size = size;
        private long _left = size;

        public bool Complete => _left == 0;

        public long Left => _left;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _size;
        public override long Position { get => _size - _left; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("read asynchronously");

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_left == 0 || buffer.Length == 0)
                return 0;
            // A connection that ends inside the literal fails the append: no truncated message is ever stored.
            if (channel.Buffered.Length == 0 && await rate.ReadMoreAsync(channel, timeout, sessionCt) == 0)
                throw new EndOfStreamException("the connection ended inside the message literal");
            var take = (int)Math.Min(Math.Min(_left, buffer.Length), channel.Buffered.Length);
            channel.Buffered[..take].CopyTo(buffer.Span);
            channel.Consume(take);
            _left -= take;
            return take;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
