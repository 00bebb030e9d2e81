// A small authoritative DNS server for policy tests (RFC 1035 §4, TCP per RFC 7766): UDP and TCP on
// one loopback address and port, answering from records the test gives (A, AAAA, MX, TXT, PTR,
// CNAME, "*." wildcards), NXDOMAIN for unknown names and NODATA for known ones (empty non-terminals
// included). A name can be made to fail (SERVFAIL, REFUSED) or to go unanswered (a timeout); UDP
// answers larger than the client's EDNS size (512 without EDNS, or UdpLimit) are truncated, so the
// client must retry over TCP. It is test infrastructure: real sockets, real wire format.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Mailward.Tests.Support;

// The door benchmark compiles this file too (bench/Mailward.Bench); there it is internal, so the tests, which reference the bench, see one type.
#if MAILWARD_BENCH
internal sealed class DnsTestServer : IAsyncDisposable
#else
public sealed class DnsTestServer : IAsyncDisposable
#endif
{
    private const ushort TypeA = 1, TypeNs = 2, TypeCname = 5, TypeSoa = 6, TypePtr = 12, TypeMx = 15, TypeTxt = 16, TypeAaaa = 28, TypeOpt = 41;

    private static readonly Dictionary<string, ushort> Types = new(StringComparer.OrdinalIgnoreCase)
    {
        ["A"] = TypeA,
        ["NS"] = TypeNs,
        ["CNAME"] = TypeCname,
        ["SOA"] = TypeSoa,
        ["PTR"] = TypePtr,
        ["MX"] = TypeMx,
        ["TXT"] = TypeTxt,
        ["AAAA"] = TypeAaaa,
    };

    private readonly ConcurrentDictionary<string, List<(ushort Type, byte[] Data)>> _records = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, int> _failures = new(StringComparer.OrdinalIgnoreCase); // rcode, or -1: no answer
    private readonly UdpClient _udp;
    private readonly TcpListener _tcp;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _udpLoop, _tcpLoop;

    /// <summary>Every question asked, as "name TYPE" (over TCP: "name TYPE tcp").</summary>
    public ConcurrentQueue<string> Questions { get; } = new();

    /// <summary>Largest UDP answer sent, whatever the client's EDNS size says; null: the client's size (512 without EDNS).</summary>
    public int? UdpLimit { get; set; }

    /// <summary>TTL of the records added from now on.</summary>
    public int Ttl { get; set; } = 300;

    /// <summary>When above 0, negative answers carry an SOA with this TTL and MINIMUM (RFC 2308), so resolvers may keep them.</summary>
    public int NegativeTtl { get; set; }

    public IPEndPoint Endpoint { get; }

    /// <summary>Listens on <paramref name="address"/> (127.0.0.1 unless given), the same port for UDP and TCP:
    /// a free one, or <paramref name="port"/> (53 for programs that ask the system's resolver, which
    /// names servers without a port; binding it needs root).</summary>
    public DnsTestServer(IPAddress? address = null, int port = 0)
    {
        address ??= IPAddress.Loopback;
        for (var attempt = 0; ; attempt++)
        {
            var tcp = new TcpListener(address, port);
            tcp.Start();
            var bound = ((IPEndPoint)tcp.LocalEndpoint).Port;
            try
            {
                _udp = new UdpClient(new IPEndPoint(address, bound));
                _tcp = tcp;
                Endpoint = new IPEndPoint(address, bound);
                break;
            }
            catch (SocketException)
            {
                tcp.Stop();
                if (attempt >= 20 || port != 0)
                    throw;
            }
        }
        _udpLoop = Task.Run(ServeUdpAsync);
        _tcpLoop = Task.Run(ServeTcpAsync);
    }

    /// <summary>"address:port" for Dns:Servers.</summary>
    public string Setting => Endpoint.ToString();

    /// <summary>
    /// Adds records: A/AAAA take addresses, MX "preference host", TXT the text (split into 255-octet
    /// strings; pass several values for several records), PTR and CNAME a name.
    /// </summary>
    public DnsTestServer Add(string name, string type, params string[] values)
    {
        var t = Types[type];
        var list = _records.GetOrAdd(Normal(name), _ => []);
        lock (list)
        {
            foreach (var v in values)
                list.Add((t, Encode(t, v)));
        }
        return this;
    }

    /// <summary>One TXT record made of exactly these character-strings (RFC 7208 §3.3 joins them).</summary>
    public DnsTestServer AddTxtStrings(string name, params string[] strings)
    {
        var data = new List<byte>();
        foreach (var s in strings)
        {
            var b = Encoding.UTF8.GetBytes(s);
            data.Add((byte)b.Length);
            data.AddRange(b);
        }
        var list = _records.GetOrAdd(Normal(name), _ => []);
        lock (list)
            list.Add((TypeTxt, [.. data]));
        return this;
    }

    /// <summary>Questions about <paramref name="name"/> are answered with <paramref name="rcode"/> (2 SERVFAIL, 5 REFUSED), or not at all (-1).</summary>
    public DnsTestServer Fail(string name, int rcode = 2)
    {
        _failures[Normal(name)] = rcode;
        return this;
    }

    /// <summary>Forgets every record and failure.</summary>
    public void Clear()
    {
        _records.Clear();
        _failures.Clear();
    }

    private static string Normal(string name) => name.TrimEnd('.').ToLowerInvariant();

    private async Task ServeUdpAsync()
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
                if (_stop.IsCancellationRequested)
                    return;
                continue;
            }
            try
            {
                if (Answer(query.Buffer, tcp: false) is { } reply)
                    await _udp.SendAsync(reply, query.RemoteEndPoint);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
            }
        }
    }

    private async Task ServeTcpAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _tcp.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                return; // stopped; InvalidOperationException when the stop came between the loop's check and the accept
            }
            _ = Task.Run(async () =>
            {
                using (client)
                {
                    var stream = client.GetStream();
                    var length = new byte[2];
                    try
                    {
                        while (true)
                        {
                            await stream.ReadExactlyAsync(length, _stop.Token);
                            var query = new byte[length[0] << 8 | length[1]];
                            await stream.ReadExactlyAsync(query, _stop.Token);
                            if (Answer(query, tcp: true) is not { } reply)
                                return;
                            await stream.WriteAsync(new[] { (byte)(reply.Length >> 8), (byte)reply.Length }, _stop.Token);
                            await stream.WriteAsync(reply, _stop.Token);
                        }
                    }
                    catch (Exception e) when (e is EndOfStreamException or IOException or OperationCanceledException or ObjectDisposedException)
                    {
                    }
                }
            });
        }
    }

    private byte[]? Answer(byte[] q, bool tcp)
    {
        if (q.Length < 12 || (q[4] << 8 | q[5]) != 1)
            return null;
        var labels = new List<string>();
        var at = 12;
        while (at < q.Length && q[at] != 0)
        {
            if (at + 1 + q[at] > q.Length)
                return null;
            labels.Add(Encoding.UTF8.GetString(q, at + 1, q[at]));
            at += q[at] + 1;
        }
        var questionEnd = at + 5;
        if (questionEnd > q.Length)
            return null;
        var name = Normal(string.Join('.', labels));
        var type = (ushort)(q[at + 1] << 8 | q[at + 2]);
        var typeName = Types.FirstOrDefault(t => t.Value == type).Key ?? type.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Questions.Enqueue($"{name} {typeName}{(tcp ? " tcp" : "")}");
        var udpSize = 512;
        if ((q[10] << 8 | q[11]) > 0 && questionEnd + 11 <= q.Length && q[questionEnd] == 0 && (q[questionEnd + 1] << 8 | q[questionEnd + 2]) == TypeOpt)
            udpSize = Math.Max(512, q[questionEnd + 3] << 8 | q[questionEnd + 4]); // the OPT record's CLASS is the payload size (RFC 6891 §6.1.2)

        var rcode = 0;
        var answers = new List<(string Owner, ushort Type, byte[] Data)>();
        if (_failures.TryGetValue(name, out var failure))
        {
            if (failure < 0)
                return null;
            rcode = failure;
        }
        else
        {
            var current = name;
            for (var hops = 0; hops < 8; hops++)
            {
                var records = Lookup(current);
                if (records is null)
                {
                    if (hops == 0 && !IsEmptyNonTerminal(current))
                        rcode = 3;
                    break;
                }
                lock (records)
                {
                    var cname = records.FirstOrDefault(r => r.Type == TypeCname);
                    if (cname.Data is not null && type != TypeCname)
                    {
                        answers.Add((current, TypeCname, cname.Data));
                        current = DecodeName(cname.Data);
                        continue;
                    }
                    answers.AddRange(records.Where(r => r.Type == type).Select(r => (current, r.Type, r.Data)));
                }
                break;
            }
        }

        var r = new List<byte>();
        r.AddRange(q.AsSpan(0, 2).ToArray()); // id
        r.Add((byte)(0x84 | (q[2] & 0x01))); // QR, AA, RD as asked
        r.Add((byte)(0x80 | rcode)); // RA
        var soa = NegativeTtl > 0 && rcode is 0 or 3 && answers.Count == 0;
        r.AddRange([0, 1, (byte)(answers.Count >> 8), (byte)answers.Count, 0, (byte)(soa ? 1 : 0), 0, 0]);
        r.AddRange(q.AsSpan(12, questionEnd - 12).ToArray());
        foreach (var (owner, t, data) in answers)
            AddRecord(r, owner, t, Ttl, data);
        if (soa)
        {
            var zone = string.Join('.', name.Split('.').TakeLast(2));
            var minimum = BitConverter.GetBytes(NegativeTtl);
            Array.Reverse(minimum);
            AddRecord(r, zone, TypeSoa, NegativeTtl, [.. EncodeName("ns." + zone), .. EncodeName("hostmaster." + zone), 0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 7, 8, 0, 9, 58, 128, .. minimum]);
        }
        if (!tcp && r.Count > (UdpLimit ?? udpSize))
        {
            // RFC 2181 §9: too big for UDP: the header and question only, with TC set.
            r.RemoveRange(questionEnd, r.Count - questionEnd);
            r[2] |= 0x02;
            r[6] = r[7] = r[8] = r[9] = 0;
        }
        return [.. r];
    }

    private List<(ushort Type, byte[] Data)>? Lookup(string name)
    {
        if (_records.TryGetValue(name, out var exact))
            return exact;
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && !IsEmptyNonTerminal(name) && _records.TryGetValue("*" + name[dot..], out var wild) ? wild : null;
    }

    private bool IsEmptyNonTerminal(string name) => _records.Keys.Any(k => k.EndsWith("." + name, StringComparison.OrdinalIgnoreCase) && !k.StartsWith('*'));

    private static void AddRecord(List<byte> r, string owner, ushort type, int ttl, byte[] data)
    {
        r.AddRange(EncodeName(owner));
        r.AddRange([(byte)(type >> 8), (byte)type, 0, 1, (byte)(ttl >> 24), (byte)(ttl >> 16), (byte)(ttl >> 8), (byte)ttl, (byte)(data.Length >> 8), (byte)data.Length]);
        r.AddRange(data);
    }

    private static byte[] Encode(ushort type, string value)
    {
        switch (type)
        {
            case TypeA:
            case TypeAaaa:
                return IPAddress.Parse(value).GetAddressBytes();
            case TypeMx:
                var parts = value.Split(' ', 2);
                var preference = ushort.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
                return [(byte)(preference >> 8), (byte)preference, .. EncodeName(parts[1])];
            case TypeTxt:
                var bytes = Encoding.UTF8.GetBytes(value);
                var data = new List<byte>();
                for (var i = 0; i < bytes.Length || i == 0; i += 255)
                {
                    var n = Math.Min(255, bytes.Length - i);
                    data.Add((byte)n);
                    data.AddRange(bytes.AsSpan(i, n).ToArray());
                }
                return [.. data];
            default:
                return EncodeName(value);
        }
    }

    private static byte[] EncodeName(string name)
    {
        var bytes = new List<byte>();
        foreach (var label in name.TrimEnd('.').Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var b = Encoding.UTF8.GetBytes(label);
            bytes.Add((byte)b.Length);
            bytes.AddRange(b);
        }
        bytes.Add(0);
        return [.. bytes];
    }

    private static string DecodeName(byte[] data)
    {
        var labels = new List<string>();
        for (var i = 0; i < data.Length && data[i] != 0; i += data[i] + 1)
            labels.Add(Encoding.UTF8.GetString(data, i + 1, data[i]));
        return Normal(string.Join('.', labels));
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _udp.Dispose();
        _tcp.Stop();
        await Task.WhenAll(_udpLoop, _tcpLoop);
        _stop.Dispose();
    }
}
