// A small authoritative DNS server on loopback UDP for remote-delivery tests (RFC 1035 §4): it
// answers MX, A and AAAA questions from tables the test fills, NXDOMAIN for names it does not know.
// The server under test reaches it through Remote:DnsServers with its real resolver (DnsClient).
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mailward.Tests.Support;

public sealed class TestDns : IAsyncDisposable
{
    private const ushort TypeA = 1, TypeMx = 15, TypeAaaa = 28;
    private readonly UdpClient _udp = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _serve;

    public ConcurrentDictionary<string, (int Preference, string Host)[]> Mx { get; } = new(StringComparer.OrdinalIgnoreCase);
    public ConcurrentDictionary<string, IPAddress[]> Addresses { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Every question asked, as "name TYPE".</summary>
    public ConcurrentQueue<string> Questions { get; } = new();

    public string Endpoint => $"127.0.0.1:{((IPEndPoint)_udp.Client.LocalEndPoint!).Port}";

    public TestDns() => _serve = Task.Run(ServeAsync);

    private async Task ServeAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult query;
            try
            {
                query = await _udp.ReceiveAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (Answer(query.Buffer) is { } reply)
                await _udp.SendAsync(reply, query.RemoteEndPoint);
        }
    }

    private byte[]? Answer(byte[] q)
    {
        if (q.Length < 12 || (q[4] << 8 | q[5]) != 1)
            return null;
        var labels = new List<string>();
        var at = 12;
        while (at < q.Length && q[at] != 0)
        {
            labels.Add(Encoding.ASCII.GetString(q, at + 1, q[at]));
            at += q[at] + 1;
        }
        var questionEnd = at + 5;
        if (questionEnd > q.Length)
            return null;
        var name = string.Join('.', labels);
        var type = (ushort)(q[at + 1] << 8 | q[at + 2]);
        Questions.Enqueue($"{name} {(type == TypeMx ? "MX" : type == TypeA ? "A" : type == TypeAaaa ? "AAAA" : type.ToString(System.Globalization.CultureInfo.InvariantCulture))}");

        var answers = new List<(ushort Type, byte[] Data)>();
        var known = Mx.ContainsKey(name) || Addresses.ContainsKey(name);
        if (type == TypeMx && Mx.TryGetValue(name, out var mx))
            foreach (var (preference, host) in mx)
                answers.Add((TypeMx, [(byte)(preference >> 8), (byte)preference, .. Encode(host)]));
        if (type is TypeA or TypeAaaa && Addresses.TryGetValue(name, out var addresses))
            foreach (var a in addresses.Where(a => a.AddressFamily == (type == TypeA ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6)))
                answers.Add((type, a.GetAddressBytes()));

        var r = new List<byte>();
        r.AddRange(q.AsSpan(0, 2).ToArray()); // id
        r.Add((byte)(0x84 | (q[2] & 0x01))); // QR, AA, RD as asked
        r.Add((byte)(0x80 | (known ? 0 : 3))); // RA; NOERROR or NXDOMAIN
        r.AddRange([0, 1, (byte)(answers.Count >> 8), (byte)answers.Count, 0, 0, 0, 0]);
        r.AddRange(q.AsSpan(12, questionEnd - 12).ToArray());
        foreach (var (t, data) in answers)
        {
            r.AddRange([0xC0, 12, (byte)(t >> 8), (byte)t, 0, 1, 0, 0, 0, 60, (byte)(data.Length >> 8), (byte)data.Length]);
            r.AddRange(data);
        }
        return [.. r];
    }

    private static byte[] Encode(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            bytes.Add((byte)label.Length);
            bytes.AddRange(Encoding.ASCII.GetBytes(label));
        }
        bytes.Add(0);
        return [.. bytes];
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        await _serve;
        _stop.Dispose();
    }
}
