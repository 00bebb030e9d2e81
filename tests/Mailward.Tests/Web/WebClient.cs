// A browser's worth of HTTP for the web admin tests: a cookie jar, no automatic redirects (the
// tests look at each answer), the login form filled in as a browser does, the session's
// anti-forgery token, and a socket bound to a chosen loopback address when the test needs one.
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Mailward.Tests.Web;

public sealed partial class WebClient : IDisposable
{
    private readonly HttpClient _http;

    public WebClient(IPEndPoint server, string from = "127.0.0.1")
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            CookieContainer = Cookies,
            UseCookies = true,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
                    await socket.ConnectAsync(context.DnsEndPoint, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        _http = new HttpClient(handler) { BaseAddress = new Uri($"http://{server}") };
    }

    public CookieContainer Cookies { get; } = new();

    /// <summary>The session's anti-forgery token (from GET /api/v1/me), once logged in.</summary>
    public string? CsrfToken { get; private set; }

    public HttpRequestHeaders DefaultHeaders => _http.DefaultRequestHeaders;

    /// <summary>Fills in and posts the login form; returns the answer to the POST (303 on success).</summary>
    public async Task<HttpResponseMessage> LoginAsync(string address, string password, IDictionary<string, string>? headers = null)
    {
        var form = await _http.GetStringAsync("/login");
        var token = LoginToken().Match(form).Groups[1].Value;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["_login"] = token, ["login"] = address, ["password"] = password }),
        };
        foreach (var (k, v) in headers ?? new Dictionary<string, string>())
            request.Headers.Add(k, v);
        var response = await _http.SendAsync(request);
        if (response.StatusCode == HttpStatusCode.SeeOther)
            await RefreshTokenAsync();
        return response;
    }

    public async Task LoginOkAsync(string address, string password)
    {
        var r = await LoginAsync(address, password);
        Assert.True(r.StatusCode == HttpStatusCode.SeeOther, $"login of {address}: {(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
    }

    public async Task RefreshTokenAsync()
    {
        using var me = await _http.GetAsync("/api/v1/me");
        CsrfToken = me.IsSuccessStatusCode ? JsonDocument.Parse(await me.Content.ReadAsStringAsync()).RootElement.GetProperty("csrfToken").GetString() : null;
    }

    public Task<HttpResponseMessage> GetAsync(string path) => _http.GetAsync(path);

    public Task<string> GetStringAsync(string path) => _http.GetStringAsync(path);

    /// <summary>Posts a form as a page does, with the session's token unless <paramref name="withToken"/> is false.</summary>
    public Task<HttpResponseMessage> PostFormAsync(string path, IDictionary<string, string>? fields = null, bool withToken = true)
    {
        var all = new Dictionary<string, string>(fields ?? new Dictionary<string, string>());
        if (withToken && CsrfToken is not null)
            all["_csrf"] = CsrfToken;
        return _http.PostAsync(path, new FormUrlEncodedContent(all));
    }

    /// <summary>A JSON API call; unsafe methods carry X-CSRF-Token unless <paramref name="withToken"/> is false.</summary>
    public Task<HttpResponseMessage> SendJsonAsync(HttpMethod method, string path, object? body = null, bool withToken = true)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
            request.Content = body is string raw ? new StringContent(raw, System.Text.Encoding.UTF8, "application/json") : JsonContent.Create(body);
        if (withToken && method != HttpMethod.Get && CsrfToken is not null)
            request.Headers.Add("X-CSRF-Token", CsrfToken);
        return _http.SendAsync(request);
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request) => _http.SendAsync(request);

    /// <summary>A body as it is (XML, a malformed document), no token: the anonymous endpoints' way.</summary>
    public Task<HttpResponseMessage> PostRawAsync(string path, string body, string mediaType) =>
        _http.PostAsync(path, new StringContent(body, System.Text.Encoding.UTF8, mediaType));

    public async Task<JsonElement> GetJsonAsync(string path)
    {
        using var r = await _http.GetAsync(path);
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, $"GET {path}: {(int)r.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public void Dispose() => _http.Dispose();

    [GeneratedRegex("name=\"_login\" value=\"([^\"]+)\"")]
    private static partial Regex LoginToken();
}
