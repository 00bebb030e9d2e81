// BINARY (RFC 3516; RFC 9051 §6.4.5) with real clients and the decoder on parts larger than its
// blocks. MailKit 4 does not fetch BINARY (it only sees the capability), so the fetches go through
// Python's imaplib with raw FETCH commands; BinaryContent is checked against .NET's own decoders
// on parts that span many blocks, whole and in windows that cut blocks anywhere.
using System.Text;
using MailKit.Net.Imap;
using MailKit.Security;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Structure;
using Mailward.Protocols.Imap.Fetch;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Imap;

public class ImapBinaryTests
{
    /// <summary>A message whose part 1 is quoted-printable text, part 2 base64 of <paramref name="blob"/>, part 3 x-uuencode.</summary>
    private static string Message(byte[] blob, string qp) =>
        "Subject: binary\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=bb\n\n"
        + "--bb\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n" + qp + "\n"
        + "--bb\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n" + Convert.ToBase64String(blob, Base64FormattingOptions.InsertLineBreaks).Replace("\r\n", "\n", StringComparison.Ordinal) + "\n"
        + "--bb\nContent-Type: application/x-old\nContent-Transfer-Encoding: x-uuencode\n\nbegin 644 x\nend\n"
        + "--bb--\n";

    private static byte[] Blob(int size)
    {
        var blob = new byte[size];
        new Random(3516).NextBytes(blob);
        for (var i = 1; i < blob.Length; i++)
            blob[i] = blob[i] == 0 ? (byte)1 : blob[i];
        blob[0] = 0; // the one NUL: only a literal8 may carry it
        return blob;
    }

    [Fact]
    public void Decoded_content_equals_dotnets_decoders_across_many_blocks_and_windows()
    {
        var blob = Blob(5 * BinaryContent.BlockBytes + 123);
        var text = string.Concat(Enumerable.Range(0, 4000).Select(i => $"line {i} caf=C3=A9 =3D and a soft=\n break\n"));
        var expectedText = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(0, 4000).Select(i => $"line {i} café = and a soft break\r\n")))[..^2];
        using var tmp = new TempFolder();
        var file = tmp.Combine("m.eml");
        File.WriteAllText(file, Message(blob, text.TrimEnd('\n')), Encoding.Latin1);
        MessageStructure s;
        using (var f = File.OpenRead(file))
            s = StructureParser.Parse(f);
        using var reader = new MessageReader(File.OpenHandle(file));

        var binary = BinaryContent.Open(s, reader, [2])!;
        Assert.True(binary.Decodes);
        Assert.Equal((blob.Length, true), binary.Measure());
        Assert.Equal(blob, All(binary));
        Assert.False(binary.Measure(1, 1000).NulInRange); // the NUL is octet 0
        Assert.True(binary.Measure(0, 1).NulInRange);
        var qp = BinaryContent.Open(s, reader, [1])!;
        Assert.Equal(expectedText.Length, qp.Measure().Length);
        Assert.Equal(expectedText, All(qp));
        Assert.Null(BinaryContent.Open(s, reader, [3])); // x-uuencode: [UNKNOWN-CTE]
        Assert.Equal(0, BinaryContent.Open(s, reader, [9])!.Measure().Length); // no such part: empty, as BODY
    }

    private static byte[] All(BinaryContent content)
    {
        var all = new List<byte>();
        using var blocks = content.Blocks();
        for (var block = blocks.Next(); !block.IsEmpty; block = blocks.Next())
        {
            Assert.True(block.Length <= 2 * BinaryContent.BlockBytes);
            all.AddRange(block.ToArray());
        }
        return [.. all];
    }

    [Fact]
    public async Task MailKit_sees_the_capability()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        using var client = new ImapClient { Timeout = 15_000 };
        await client.ConnectAsync("127.0.0.1", server.Imap.Port, SecureSocketOptions.None);
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Binary));
        await client.AuthenticateAsync("joe@hosted.test", "pw");
        Assert.True(client.Capabilities.HasFlag(ImapCapabilities.Binary));
        await client.DisconnectAsync(true);
    }

    [Fact]
    public async Task Pythons_imaplib_fetches_decoded_parts_sizes_and_windows()
    {
        var blob = Blob(200_000); // several flushes of the reply buffer
        var escaped = string.Concat(Message(blob, "caf=C3=A9 soft=\nbreak").Select(c => c switch { '\n' => "\\n", '\\' => "\\\\", _ => c.ToString() }));
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", $"mail joe@hosted.test 1700000000.M1P1 {escaped}",
            @"mail joe@hosted.test 1700000001.M2P1 Subject: nul\n\nA\x00B\n"]);
        using var tmp = new TempFolder();
        var expected = tmp.Combine("blob.bin");
        await File.WriteAllBytesAsync(expected, blob);
        var script = $$"""
            import imaplib, re
            blob = open('{{expected}}', 'rb').read()
            m = imaplib.IMAP4('127.0.0.1', {{server.Imap.Port}}, timeout=30)
            typ, caps = m.capability()
            assert b'BINARY' in caps[0].split(), caps
            m.login('joe@hosted.test', 'pw')
            m.select('INBOX')
            typ, data = m.fetch('1', '(BINARY.SIZE[1] BINARY.SIZE[2])')
            assert typ == 'OK' and data[0] == b'1 (BINARY.SIZE[1] 15 BINARY.SIZE[2] %d)' % len(blob), data
            typ, data = m.fetch('1', '(BINARY.PEEK[1])')
            assert data[0][0] == b'1 (BINARY[1] {15}' and data[0][1] == 'café softbreak'.encode(), data
            typ, data = m.fetch('1', '(BINARY.PEEK[2])')
            assert data[0][0] == b'1 (BINARY[2] ~{%d}' % len(blob), data[0][0]
            assert data[0][1] == blob
            typ, data = m.fetch('1', '(BINARY.PEEK[2]<100000.70000>)')
            assert data[0][1] == blob[100000:170000]
            typ, data = m.fetch('1', '(BINARY.PEEK[3])')
            assert typ == 'NO' and b'[UNKNOWN-CTE]' in data[0], (typ, data)
            # A stored NUL: a literal may not carry it, so BODY[] and BODY[TEXT] send 0x80 (as Dovecot); BINARY[1] keeps it in a literal8.
            typ, data = m.fetch('2', '(BODY.PEEK[] BODY.PEEK[TEXT] BINARY.PEEK[1])')
            assert data[0][1].endswith(b'\r\n\r\nA\x80B\r\n') and data[1][1] == b'A\x80B\r\n', data
            assert data[2][0].endswith(b'~{5}') and data[2][1] == b'A\x00B\r\n', data
            typ, data = m.fetch('1', '(FLAGS)')
            assert b'\\Seen' not in data[0], data
            typ, data = m.fetch('1', '(BINARY[1])')
            assert b'\\Seen' in data[0][0] + data[1], data
            m.logout()
            print('ok')
            """;
        Assert.Equal("ok", await ExternalProgram.PythonAsync(script));
    }
}
