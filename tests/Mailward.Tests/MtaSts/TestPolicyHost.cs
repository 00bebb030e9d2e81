// A small HTTPS server on loopback for MTA-STS policy fetches: a real TLS handshake with a test
// certificate, one HTTP/1.1 answer per connection (status, type and body as the test sets them),
// and a count of the requests.
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Mailward.Tests.MtaSts;

public sealed class TestPolicyHost : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly X509Certificate2 _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private int _requests;

    public TestPolicyHost(IPAddress address, X509Certificate2 certificate)
    {
        _certificate = certificate;
        _listener = new TcpListener(address, 0);
        _listener.Start();
        _accept = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
    public int Requests => Volatile.Read(ref _requests);
    public string Status { get; set; } = "200 OK";
    public string ContentType { get; set; } = "text/plain";
    public string Body { get; set; } = "";
    public string? Location { get; set; }
    public List<string> Paths { get; } = [];

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
            {
                return; // stopped; InvalidOperationException when the stop came between the loop's check and the accept
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            await using var ssl = new SslStream(client.GetStream());
            await ssl.AuthenticateAsServerAsync(_certificate);
            var request = new StringBuilder();
            var buffer = new byte[4096];
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await ssl.ReadAsync(buffer);
                if (n == 0)
                    return;
                request.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            lock (Paths)
                Paths.Add(request.ToString().Split(' ')[1]);
            Interlocked.Increment(ref _requests);
            var body = Encoding.UTF8.GetBytes(Body);
            var head = $"HTTP/1.1 {Status}\r\nContent-Type: {ContentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n" +
                       (Location is null ? "" : $"Location: {Location}\r\n") + "\r\n";
            await ssl.WriteAsync(Encoding.ASCII.GetBytes(head));
            await ssl.WriteAsync(body);
            await ssl.FlushAsync();
        }
        catch (Exception e) when (e is IOException or System.Security.Authentication.AuthenticationException)
        {
            // a client that refused the certificate
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        _stop.Dispose();
    }
}
