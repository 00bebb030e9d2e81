// The audit's damage test over the real program: a child `mailward serve` queues mail over SMTP
// with delivery held and is stopped; bytes are flipped at several places of its queue; the next
// start keeps and delivers every intact message once and reports the damage in its log, in
// `queue stat`, in `queue check` and in queue/corrupt/, without cutting a valid byte.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mailward.Core.Queue;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Queue;

public sealed class QueueDamageServerTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly ServerProcesses _servers = new();

    public void Dispose()
    {
        _servers.Dispose();
        _m.Dispose();
    }

    private string QueueDir => Path.Combine(_m.Data, "queue");

    private static async Task SendAsync(int port, IReadOnlyList<(string Token, int Size)> messages)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var s = tcp.GetStream();
        var r = new ReplyReader(s);
        Assert.StartsWith("220", await r.ReadLineAsync());
        await s.WriteAsync("HELO damage.test\r\n"u8.ToArray());
        Assert.StartsWith("250", await r.ReadLineAsync());
        foreach (var (token, size) in messages)
        {
            await s.WriteAsync("MAIL FROM:<s@remote.test>\r\nRCPT TO:<joe@hosted.test>\r\nDATA\r\n"u8.ToArray());
            for (var i = 0; i < 3; i++)
                Assert.Matches("^[23]", await r.ReadLineAsync());
            var body = new StringBuilder($"X-Token: {token}\r\nSubject: damage test\r\n\r\n");
            var line = new string('q', 78) + "\r\n";
            for (var n = 0; n < size / line.Length; n++)
                body.Append(line);
            body.Append(".\r\n");
            await s.WriteAsync(Encoding.ASCII.GetBytes(body.ToString()));
            Assert.StartsWith("250 2.0.0 Ok: queued as ", await r.ReadLineAsync());
        }
        await s.WriteAsync("QUIT\r\n"u8.ToArray());
    }

    private static async Task StopAsync(Process server)
    {
        using (var term = Process.Start("kill", ["-TERM", server.Id.ToString()]))
            await term.WaitForExitAsync();
        await server.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Each record of a segment: offset, framed length, and the X-Token its inline body carries (if any).</summary>
    private static List<(long Offset, int Length, string? Token)> Records(string segment)
    {
        var bytes = File.ReadAllBytes(segment);
        var list = new List<(long, int, string?)>();
        for (var at = 0; at < bytes.Length;)
        {
            var length = QueueRecord.HeaderSize + QueueRecord.PayloadLength(bytes.AsSpan(at)) + QueueRecord.TrailerSize;
            var text = Encoding.Latin1.GetString(bytes, at, length);
            var t = text.IndexOf("X-Token: ", StringComparison.Ordinal);
            list.Add((at, length, t < 0 ? null : text.Substring(t + 9, 8)));
            at += length;
        }
        return list;
    }

    private static void Flip(string file, long offset, int count)
    {
        var bytes = File.ReadAllBytes(file);
        for (var i = 0; i < count; i++)
            bytes[offset + i] ^= 0xA5;
        File.WriteAllBytes(file, bytes);
    }

    private IEnumerable<string> DeliveredTokens() =>
        new[] { "new", "cur" }.SelectMany(d => Directory.GetFiles(Path.Combine(_m.UserFolder("joe@hosted.test"), "Maildir", d)))
            .Select(f => File.ReadLines(f).First(l => l.StartsWith("X-Token: ", StringComparison.Ordinal))[9..]);

    [Fact]
    public async Task Flipped_bytes_cost_only_the_messages_they_hit_and_every_other_is_delivered_once()
    {
        (await _m.Run("vadddomain", "hosted.test", "pw")).Ok();
        (await _m.Run("vadduser", "-e", "DmIMm9e5Hc8ic", "joe@hosted.test")).Ok();
        var port = ServerProcesses.FreePort();
        // 60 messages over four or more 1 MiB segments (the least Queue:SegmentBytes allows); three
        // of them over the 64 KiB inline limit, with a body file each.
        var messages = Enumerable.Range(0, 60).Select(i => ($"T{i:D7}", i is 5 or 17 or 33 ? 100_000 : 60_000 + 50 * i)).ToList();
        using (var server = _servers.Start(_m.Data, port, "--Delivery:Enabled=false", "--Queue:SegmentBytes=1048576"))
        {
            await ServerProcesses.WaitListeningAsync(port);
            await SendAsync(port, messages);
            await StopAsync(server);
        }

        var clean = (await _m.Run("queue", "check")).Ok().Out;
        Assert.Contains("queue check: 60 message(s), 0 damaged range(s), 0 suspect message(s), 0 held message(s)", clean);
        Assert.DoesNotContain("damaged:", clean);

        var segments = Directory.GetFiles(Path.Combine(QueueDir, "log")).Order(StringComparer.Ordinal).ToArray();
        Assert.True(segments.Length >= 4, $"{segments.Length} segments");
        var lengths = segments.Select(s => new FileInfo(s).Length).ToArray();
        var hit = new List<string>();
        void Damage(string segment, int from, Func<(long Offset, int Length), long> where, int count)
        {
            // The first inline message at or after record `from` (its token tells which message was
            // hit), with a valid record after it: in the newest segment that makes it damage, not a torn tail.
            var records = Records(segment);
            var r = records.Skip(from).SkipLast(1).First(x => x.Token is not null);
            hit.Add(r.Token!);
            Flip(segment, where((r.Offset, r.Length)), count);
        }
        Damage(segments[0], 0, r => r.Offset + 200, 8);                 // the first record, mid-envelope/body
        Damage(segments[1], 1, r => r.Offset + 5, 4);                    // a length field
        Damage(segments[2], 1, r => r.Offset + r.Length - 8, 4);         // a CRC
        Damage(segments[^1], 0, r => r.Offset + r.Length - 4, 4);        // an end marker in the newest segment
        var bodyFiles = Directory.GetFiles(Path.Combine(QueueDir, "body"));
        Assert.Equal(3, bodyFiles.Length);
        using (var f = new FileStream(bodyFiles[0], FileMode.Open))
            f.SetLength(5_000); // a damaged large body: held, not delivered cut short
        var heldId = Path.GetFileName(bodyFiles[0]);

        var check = await _m.Run("queue", "check");
        Assert.Equal(42, check.Code);
        Assert.Equal(4, check.Out.Split('\n').Count(l => l.StartsWith("damaged: ", StringComparison.Ordinal)));
        Assert.Contains($"{Path.GetFileName(segments[1])} bytes ", check.Out);
        Assert.Contains($"held: {heldId}: body file has 5000 bytes", check.Out);

        // A start with delivery still held: the damage is logged and counted, nothing is cut.
        using (var server = _servers.Start(_m.Data, port, "--Delivery:Enabled=false", "--Queue:SegmentBytes=1048576"))
        {
            await ServerProcesses.WaitListeningAsync(port);
            var stat = (await _m.Run("queue", "stat")).Ok().Out;
            Assert.Contains("messages in queue: 56", stat);
            Assert.Contains("damaged ranges: 4", stat);
            Assert.Contains("held messages: 1", stat);
            await StopAsync(server);
        }
        Assert.Equal(lengths, segments.Select(s => new FileInfo(s).Length).ToArray());
        Assert.Equal(4, Directory.GetFiles(Path.Combine(QueueDir, "corrupt"), "*.damaged").Length);
        var logged = _servers.Output.Where(l => l.Contains("queue recovery", StringComparison.Ordinal)).ToList();
        foreach (var s in segments.Take(3).Append(segments[^1]))
            Assert.Contains(logged, l => l.Contains(Path.GetFileName(s) + " bytes ", StringComparison.Ordinal));

        // Delivery on: every intact message arrives exactly once; the damaged and the held do not.
        using (var server = _servers.Start(_m.Data, port, "--Queue:SegmentBytes=1048576"))
        {
            await ServerProcesses.WaitListeningAsync(port);
            // Up to 60 s: in a full parallel test run a straggler's fsyncs wait behind other tests' disk work.
            for (var i = 0; i < 600 && DeliveredTokens().Count() < 55; i++)
                await Task.Delay(100);
            await Task.Delay(300); // a duplicate would show now
            await StopAsync(server);
        }
        var delivered = DeliveredTokens().ToList();
        var heldToken = File.ReadLines(Path.Combine(QueueDir, "body", heldId)).First(l => l.StartsWith("X-Token: ", StringComparison.Ordinal))[9..];
        var expected = messages.Select(m => m.Item1).Except(hit).Where(t => t != heldToken).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(55, expected.Count);
        Assert.Equal(expected, delivered.Order(StringComparer.Ordinal));
        var left = QueueStore.Check(QueueDir).Messages;
        Assert.Equal(heldId, Assert.Single(left).QueueId); // the held message waits for the admin
    }
}
