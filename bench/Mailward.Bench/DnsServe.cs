// `dns`: the tests' authoritative DNS server on a loopback address, answering the records given on
// the command line, for benchmarks that need policy DNS (the door's SPF, DKIM and DMARC). Bounded in
// time; prints its endpoint for the script. `--port 53` serves programs that ask the system's resolver.
using System.Net;
using Mailward.Tests.Support;

namespace Mailward.Bench;

public static class DnsServe
{
    public static int Run(string[] args)
    {
        var address = IPAddress.Loopback;
        var port = 0;
        var seconds = 3600;
        var records = new List<(string Name, string Type, string Value)>();
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--address": address = IPAddress.Parse(Next()); break;
                case "--port": port = int.Parse(Next()); break;
                case "--seconds": seconds = int.Parse(Next()); break;
                case "--record": records.Add((Next(), Next(), Next())); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        var server = new DnsTestServer(address, port) { Ttl = 3600 };
        foreach (var (name, type, value) in records)
            server.Add(name, type, value);
        Console.WriteLine($"ENDPOINT {server.Setting}");
        Console.Out.Flush();
        Thread.Sleep(TimeSpan.FromSeconds(seconds));
        server.DisposeAsync().AsTask().Wait();
        return 0;
    }
}
