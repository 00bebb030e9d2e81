// COMPRESS=DEFLATE (RFC 4978) with real clients: MailKit's ImapClient over a compressed session, and
// a Python client (zlib) that ends every command with a partial, a sync or a full flush. The partial
// flush is the iOS Mail case that made mox withdraw the extension (its inflater waited for more
// input and sessions hung): each command here must be answered within the socket's timeout.
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Imap;

public class ImapCompressTests
{
    [Fact]
    public async Task MailKit_appends_and_fetches_a_large_message_over_a_compressed_session()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        using var client = new ImapClient { Timeout = 15_000 };
        await client.ConnectAsync("127.0.0.1", server.Imap.Port, SecureSocketOptions.None);
        Assert.False(client.Capabilities.HasFlag(ImapCapabilities.Compress)); // a command of the authenticated state
        await client.AuthenticateAsync("joe@hosted.test", "pw");
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Compress));
        await client.CompressAsync();
        var text = string.Concat(Enumerable.Range(0, 5000).Select(i => $"line {i} of a long and repetitive letter\n"));
        var message = new MimeMessage { Subject = "big", Body = new TextPart("plain") { Text = text } };
        message.From.Add(new MailboxAddress("A", "a@remote.test"));
        message.To.Add(new MailboxAddress("Joe", "joe@hosted.test"));
        var uid = await client.Inbox.AppendAsync(message);
        await client.Inbox.OpenAsync(FolderAccess.ReadWrite);
        var back = await client.Inbox.GetMessageAsync(uid!.Value);
        Assert.Equal(text, back.TextBody!.Replace("\r\n", "\n", StringComparison.Ordinal));
        var summaries = await client.Inbox.FetchAsync(0, -1, MessageSummaryItems.Envelope | MessageSummaryItems.BodyStructure | MessageSummaryItems.Size);
        Assert.Equal("big", Assert.Single(summaries).Envelope!.Subject);
        await client.DisconnectAsync(true);
    }

    [Theory]
    [InlineData("Z_PARTIAL_FLUSH")]
    [InlineData("Z_SYNC_FLUSH")]
    [InlineData("Z_FULL_FLUSH")]
    public async Task A_client_flushing_its_way_is_answered_at_once(string flush)
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        var script = $$"""
            import socket, zlib
            s = socket.create_connection(('127.0.0.1', {{server.Imap.Port}}), timeout=10)
            buf = b''
            def plain_line():
                global buf
                while b'\r\n' not in buf:
                    chunk = s.recv(65536)
                    assert chunk, 'closed'
                    buf += chunk
                line, buf = buf.split(b'\r\n', 1)
                return line
            def plain(tag, cmd):
                s.sendall(tag + b' ' + cmd + b'\r\n')
                lines = []
                while True:
                    line = plain_line()
                    lines.append(line)
                    if line.startswith(tag + b' '):
                        return lines
            plain_line()
            assert plain(b'a', b'LOGIN joe@hosted.test pw')[-1].startswith(b'a OK')
            caps = plain(b'b', b'CAPABILITY')
            assert b' COMPRESS=DEFLATE' in caps[0], caps
            comp = zlib.compressobj(6, zlib.DEFLATED, -15)
            dec = zlib.decompressobj(-15)
            # The first compressed command rides in the same packet as COMPRESS (read ahead by the server).
            s.sendall(b'c COMPRESS DEFLATE\r\n' + comp.compress(b'd NOOP\r\n') + comp.flush(zlib.{{flush}}))
            assert plain_line() == b'c OK DEFLATE active'
            text = dec.decompress(buf)
            def reply(tag):
                global text
                while (b'\r\n' + tag + b' ') not in (b'\r\n' + text) or not text.endswith(b'\r\n'):
                    chunk = s.recv(65536)
                    assert chunk, 'closed'
                    text += dec.decompress(chunk)
                at = (b'\r\n' + text).index(b'\r\n' + tag + b' ')
                end = text.index(b'\r\n', at) + 2
                got, text = text[:end], text[end:]
                return got
            def send(tag, cmd):
                s.sendall(comp.compress(tag + b' ' + cmd) + comp.flush(zlib.{{flush}}))
                return reply(tag)
            assert b'd OK' in reply(b'd')
            r = send(b'e', b'CAPABILITY\r\n')
            assert b'COMPRESS=DEFLATE' not in r and b'IMAP4rev2' in r, r
            assert b'f NO [COMPRESSIONACTIVE]' in send(b'f', b'COMPRESS DEFLATE\r\n')
            body = b''.join(b'Subject: z\r\n\r\n' + b'%d compressed lines\r\n' % i for i in range(3000))
            assert b'g OK [APPENDUID' in send(b'g', b'APPEND INBOX {%d+}\r\n' % len(body) + body + b'\r\n')
            assert b'h OK' in send(b'h', b'SELECT INBOX\r\n')
            r = send(b'i', b'FETCH 1 BODY.PEEK[]\r\n')
            assert (b'{%d}\r\n' % len(body)) + body in r, r[:200]
            assert b'j OK' in send(b'j', b'LOGOUT\r\n')
            print('ok')
            """;
        Assert.Equal("ok", await ExternalProgram.PythonAsync(script));
    }
}
