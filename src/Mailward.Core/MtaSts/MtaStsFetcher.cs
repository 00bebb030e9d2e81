// Fetches a domain's MTA-STS policy (RFC 8461 §3.3): GET https://mta-sts.DOMAIN/.well-known/mta-sts.txt
// with a certificate valid for mta-sts.DOMAIN (the system's roots or Remote:ExtraRootCertificates),
// no redirects followed, only a 200 answer of type text/plain, at most MtaSts:MaxPolicyBytes, and
// the whole fetch within MtaSts:FetchTimeoutSeconds. The policy host's address comes from the
// policy DNS (Dns:Servers), as every other name the policy checks ask about.
using System.Net;
using System.Net.Sockets;
using System.Text;
using Mailward.Core.Delivery.Remote;
using Mailward.Core.PolicyDns;

namespace Mailward.Core.MtaSts;

public sealed class MtaStsFetcher : IDisposable
{
    private readonly HttpClient _http;
    private readonly MtaStsOptions _options;

    public MtaStsFetcher(IPolicyDns dns, RemoteTrust trust, MtaStsOptions options)
    {
        _options = options;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false, // §3.3: redirects MUST NOT be followed
            UseCookies = false,
            UseProxy = false,
            ConnectTimeout = options.FetchTimeout,
            SslOptions = { RemoteCertificateValidationCallback = trust.Validate },
            ConnectCallback = async (context, ct) =>
            {
                var host = context.DnsEndPoint.Host;
                var addresses = new List<IPAddress>();
                foreach (var type in new[] { DnsRecordType.Aaaa, DnsRecordType.A })
                    addresses.AddRange((await dns.QueryAsync(host, type, ct)).Addresses);
                if (addresses.Count == 0)
                    throw new HttpRequestException($"{host} has no address");
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    await socket.ConnectAsync([.. addresses], context.DnsEndPoint.Port, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    /// <summary>The policy text, or null with the reason in <paramref name="error"/>.</summary>
    public async Task<(string? Text, string? Error)> FetchAsync(string domain, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(_options.FetchTimeout);
        var url = new UriBuilder(Uri.UriSchemeHttps, "mta-sts." + domain, _options.Port, "/.well-known/mta-sts.txt").Uri;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline.Token);
            if (response.StatusCode != HttpStatusCode.OK)
                return (null, $"{url} answered {(int)response.StatusCode}");
            if (response.Content.Headers.ContentType?.MediaType is not "text/plain")
                return (null, $"{url} is {response.Content.Headers.ContentType?.MediaType ?? "untyped"}, not text/plain");
            await using var body = await response.Content.ReadAsStreamAsync(deadline.Token);
            var buffer = new byte[_options.MaxPolicyBytes + 1];
            var read = 0;
            int n;
            while (read < buffer.Length && (n = await body.ReadAsync(buffer.AsMemory(read), deadline.Token)) > 0)
                read += n;
            if (read > _options.MaxPolicyBytes)
                return (null, $"{url} is longer than {_options.MaxPolicyBytes} bytes (MtaSts:MaxPolicyBytes)");
            return (Encoding.UTF8.GetString(buffer, 0, read), null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (null, $"{url} took longer than {_options.FetchTimeout.TotalSeconds:0} s (MtaSts:FetchTimeoutSeconds)");
        }
        catch (HttpRequestException e)
        {
            return (null, $"{url}: {e.Message}{(e.InnerException is { } inner ? " (" + inner.Message + ")" : "")}");
        }
    }

    public void Dispose() => _http.Dispose();
}
