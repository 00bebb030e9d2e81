// The Admin listener: where it binds by default, how it is served off loopback (HTTPS) or behind a
// proxy (only when the proxy is named), and that only the named proxies' X-Forwarded-* are believed.
// Network tests stay on loopback: 127.0.0.9 stands in for another host.
using System.Net;
using System.Net.Sockets;
using Mailward.Core.Configuration;
using Mailward.Tests.Support;
using Mailward.Web.Hosting;

namespace Mailward.Tests.Web;

public sealed class WebListenerTests
{
    [Theory]
    [InlineData("127.0.0.1", false, "", AdminTransport.PlainLoopback)]
    [InlineData("::1", false, "", AdminTransport.PlainLoopback)]
    [InlineData("*", false, "", AdminTransport.Https)]
    [InlineData("0.0.0.0", false, "", AdminTransport.Https)]
    [InlineData("192.0.2.10", false, "", AdminTransport.Https)]
    [InlineData("192.0.2.10", true, "192.0.2.1", AdminTransport.PlainBehindProxy)]
    [InlineData("127.0.0.1", true, "127.0.0.1,::1", AdminTransport.PlainBehindProxy)]
    public void Off_loopback_it_is_https_unless_behind_a_named_proxy(string address, bool behindProxy, string proxies, AdminTransport expected)
    {
        var options = new AdminWebOptions
        {
            Address = address,
            BehindProxy = behindProxy,
            TrustedProxies = proxies.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(IPAddress.Parse).ToList(),
        };
        Assert.Equal(expected, options.Transport);
    }

    [Fact]
    public void Behind_a_proxy_nobody_named_it_does_not_start()
    {
        var e = Assert.Throws<SettingsException>(() => new AdminWebOptions { Address = "*", BehindProxy = true }.Transport);
        Assert.Contains("Admin:TrustedProxies", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_to_start_behind_a_proxy_it_was_not_told_of()
    {
        using var m = new MailwardRunner();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var r = await m.Run("--Listen:Address=127.0.0.1", "--Smtp:Port=0", "--Pop3:Port=0", "--Pop3s:Port=0", "--Imap:Port=0", "--Imaps:Port=0",
            "--Submission:Port=0", "--Smtps:Port=0", "--Admin:Port=0", "--Admin:BehindProxy=true", "serve", "--allow-root").WaitAsync(timeout.Token);
        Assert.Equal(3, r.Code);
        Assert.Contains("Admin:TrustedProxies", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task By_default_it_listens_on_127_0_0_1_only()
    {
        await using var server = await WebServer.StartAsync();
        Assert.Equal(IPAddress.Loopback, server.Admin.Address);
        // Another address of this host (127.0.0.9 standing in for a public one) has nothing on that port.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var e = await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync(new IPEndPoint(IPAddress.Parse("127.0.0.9"), server.Admin.Port)));
        Assert.Equal(SocketError.ConnectionRefused, e.SocketErrorCode);
        // A client from 127.0.0.9 reaches 127.0.0.1 (it is this host) and still has to log in.
        using var stranger = new WebClient(server.Admin, "127.0.0.9");
        Assert.Equal(HttpStatusCode.Found, (await stranger.GetAsync("/domains")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await stranger.GetAsync("/api/v1/domains")).StatusCode);
    }

    [Fact]
    public async Task Forwarded_headers_are_believed_from_the_named_proxy_only()
    {
        await using var server = await WebServer.StartAsync(null, "--Admin:BehindProxy=true", "--Admin:TrustedProxies=127.0.0.1");
        var forwarded = new Dictionary<string, string> { ["X-Forwarded-For"] = "192.0.2.7", ["X-Forwarded-Proto"] = "https" };

        // From a stranger (127.0.0.9), the headers are ignored: its own address is recorded, the cookie is plain.
        using var stranger = new WebClient(server.Admin, "127.0.0.9");
        var s = await stranger.LoginAsync(WebServer.User, WebServer.Password, forwarded);
        Assert.Equal(HttpStatusCode.SeeOther, s.StatusCode);
        Assert.Contains(s.Headers.GetValues("Set-Cookie"), h => h.StartsWith("mailward=", StringComparison.Ordinal));
        Assert.Equal("127.0.0.9", (await stranger.GetJsonAsync($"/api/v1/users/{WebServer.User}")).GetProperty("lastLogin").GetProperty("address").GetString());

        // From the proxy, the client is 192.0.2.7 and came over HTTPS: the cookie is Secure with the __Host- prefix.
        using var proxy = new WebClient(server.Admin, "127.0.0.1");
        var p = await proxy.LoginAsync(WebServer.OtherUser, WebServer.Password, forwarded);
        Assert.Equal(HttpStatusCode.SeeOther, p.StatusCode);
        var cookie = p.Headers.GetValues("Set-Cookie").Single(h => h.StartsWith("__Host-mailward=", StringComparison.Ordinal));
        Assert.Contains("secure", cookie, StringComparison.OrdinalIgnoreCase);
        var store = server.Services.GetService(typeof(Core.Accounts.IAccountStore)) as Core.Accounts.IAccountStore;
        Assert.Equal("192.0.2.7", store!.FindUser("u2", "a.test")!.LastLogin!.Address);
    }

    [Fact]
    public async Task Without_behind_proxy_nobodys_forwarded_headers_are_believed()
    {
        await using var server = await WebServer.StartAsync();
        using var c = new WebClient(server.Admin, "127.0.0.1");
        var r = await c.LoginAsync(WebServer.User, WebServer.Password, new Dictionary<string, string> { ["X-Forwarded-For"] = "192.0.2.7" });
        Assert.Equal(HttpStatusCode.SeeOther, r.StatusCode);
        Assert.Equal("127.0.0.1", (await c.GetJsonAsync($"/api/v1/users/{WebServer.User}")).GetProperty("lastLogin").GetProperty("address").GetString());
    }
}
