// COMPRESS DEFLATE (RFC 4978): after the tagged OK, which goes out uncompressed, the connection
// carries raw DEFLATE both ways (CompressedStream). Authenticated and selected states only (§3);
// once per connection.
namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    private CompressedStream? _compressed;

    private async Task<bool> CompressAsync(string tag, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (!options.AllowCompress)
            return Bad(tag, "unknown command");
        if (args.Count != 1 || args[0].Kind != ImapTokenKind.Atom)
            return Bad(tag, "COMPRESS DEFLATE");
        if (_compressed is not null)
            return No(tag, "[COMPRESSIONACTIVE] DEFLATE is active already"); // RFC 4978 §3
        if (!args[0].IsAtom("DEFLATE"))
            return No(tag, "only DEFLATE is offered");
        // What the client sent after the command line is its compressed stream's start.
        var ahead = _channel.Buffered.ToArray();
        _channel.DiscardBuffered();
        Tagged(tag, "OK DEFLATE active");
        await _channel.FlushAsync(ct);
        _compressed = new CompressedStream(_channel.Stream, ahead);
        _channel.Stream = _compressed;
        return true;
    }
}
