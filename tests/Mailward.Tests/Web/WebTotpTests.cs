// The TOTP second factor against the real server: enrolment on the own page (the secret shown once,
// on only after a code from it), a login that asks for the code after the password and gives no
// session before it, each code accepted once (a replay within its window refused), wrong codes
// counted by the throttle the mail protocols share, and the pending login bound to its browser.
using System.Net;
using System.Text.RegularExpressions;
using MailKit.Net.Pop3;
using MailKit.Security;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Auth;

namespace Mailward.Tests.Web;

public sealed partial class WebTotpTests(WebServer web) : IClassFixture<WebServer>
{
    /// <summary>An account of its own per test, so the tests' second factors and throttles do not meet.</summary>
    private async Task<string> NewAccountAsync(string local, UserFlags flags = UserFlags.DomainAdmin)
    {
        var address = $"{local}@a.test";
        await web.Admin.AddUserAsync(Actor.System, address, new PasswordInput.Clear(WebServer.Password), flags: flags);
        return address;
    }

    /// <summary>Sets up and turns on the second factor through the own page; returns the secret and the step its code used.</summary>
    private static async Task<(string Secret, long Step)> EnrolAsync(WebClient client)
    {
        using var begin = await client.PostFormAsync("/account/totp");
        Assert.Equal(HttpStatusCode.OK, begin.StatusCode);
        var page = await begin.Content.ReadAsStringAsync();
        var secret = SecretOnPage().Match(page).Groups[1].Value;
        Assert.Matches("^[A-Z2-7]{32}$", secret);
        Assert.Contains("otpauth://totp/", page, StringComparison.Ordinal);
        var step = Totp.StepOf(DateTimeOffset.UtcNow);
        using var confirm = await client.PostFormAsync("/account/totp/confirm", new Dictionary<string, string> { ["code"] = Totp.Code(secret, step) });
        Assert.Equal(HttpStatusCode.SeeOther, confirm.StatusCode);
        Assert.Contains("two-factor login is on", await client.GetStringAsync("/account"), StringComparison.Ordinal);
        return (secret, step);
    }

    private static async Task<(HttpResponseMessage Response, string Pending)> PasswordStepAsync(WebClient client, string address)
    {
        var r = await client.LoginAsync(address, WebServer.Password);
        var pending = PendingOnPage().Match(await r.Content.ReadAsStringAsync()).Groups[1].Value;
        return (r, pending);
    }

    private static Task<HttpResponseMessage> CodeAsync(WebClient client, string pending, string code) =>
        client.PostFormAsync("/login/totp", new Dictionary<string, string> { ["_pending"] = pending, ["code"] = code }, withToken: false);

    [Fact]
    public async Task A_login_asks_for_the_code_after_the_password_and_a_code_is_accepted_once()
    {
        var address = await NewAccountAsync("tf1");
        using (var setup = await web.LoggedInAsync(address))
        {
            var (secret, used) = await EnrolAsync(setup);

            using var client = web.Client();
            var (answer, pending) = await PasswordStepAsync(client, address);
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode); // the code form, not a session
            Assert.NotEmpty(pending);
            using (var me = await client.GetAsync("/api/v1/me"))
                Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);

            // The code the enrolment used: its step is spent (a replay within the window).
            using (var replay = await CodeAsync(client, pending, Totp.Code(secret, used)))
                Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
            using (var wrong = await CodeAsync(client, pending, Totp.Code(secret, used + 5)))
                Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            using (var me = await client.GetAsync("/api/v1/me"))
                Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);

            // The next step's code (within the skew) logs in.
            var next = Totp.Code(secret, used + 1);
            using (var ok = await CodeAsync(client, pending, next))
                Assert.Equal(HttpStatusCode.SeeOther, ok.StatusCode);
            await client.RefreshTokenAsync();
            Assert.Equal(address, (await client.GetJsonAsync("/api/v1/me")).GetProperty("address").GetString());

            // The same code again, on a new login within its window: refused.
            using var again = web.Client();
            var (_, pending2) = await PasswordStepAsync(again, address);
            using (var replay = await CodeAsync(again, pending2, next))
                Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
            Assert.Contains(web.Server.Log, l => l.Contains($"second factor of {address}", StringComparison.Ordinal) && l.Contains("already used", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Wrong_codes_count_as_failed_logins_in_the_throttle_the_mail_protocols_share()
    {
        var address = await NewAccountAsync("tf2", UserFlags.None);
        using (var setup = await web.LoggedInAsync(address))
            await EnrolAsync(setup);

        // From an address of its own: the per-client count (Pop3:MaxLoginFailuresPerClient, 10) is this test's.
        var from = new IPEndPoint(IPAddress.Parse("127.0.0.71"), 0);
        using (var before = new Pop3Client { Timeout = 15_000, LocalEndPoint = from })
        {
            // The control: before the wrong codes POP3 lets this account in from there.
            await before.ConnectAsync("127.0.0.1", web.Server.Pop3.Port, SecureSocketOptions.None);
            await before.AuthenticateAsync(address, WebServer.Password);
        }
        using var client = web.Client("127.0.0.71");
        var (_, pending) = await PasswordStepAsync(client, address);
        var throttled = false;
        for (var i = 0; i < 12 && !throttled; i++)
        {
            using var r = await CodeAsync(client, pending, "000000");
            throttled = r.StatusCode == HttpStatusCode.TooManyRequests;
        }
        Assert.True(throttled, "ten wrong codes did not throttle");
        // POP3 from the same address, with the right password: refused by the same throttle.
        using var pop = new Pop3Client { Timeout = 15_000, LocalEndPoint = from };
        await pop.ConnectAsync("127.0.0.1", web.Server.Pop3.Port, SecureSocketOptions.None);
        await Assert.ThrowsAsync<AuthenticationException>(() => pop.AuthenticateAsync(address, WebServer.Password));
    }

    [Fact]
    public async Task The_code_step_needs_its_own_browser_and_no_second_factor_means_no_second_step()
    {
        var address = await NewAccountAsync("tf3");
        using (var setup = await web.LoggedInAsync(address))
        {
            var (secret, used) = await EnrolAsync(setup);
            using var client = web.Client();
            var (_, pending) = await PasswordStepAsync(client, address);
            // Another browser (no pending cookie) with the right code and the pending id: refused, no session.
            using var other = web.Client();
            using (var r = await CodeAsync(other, pending, Totp.Code(secret, used + 1)))
                Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode);
            using (var me = await other.GetAsync("/api/v1/me"))
                Assert.Equal(HttpStatusCode.Unauthorized, me.StatusCode);

            // A domain admin cannot turn another account's second factor off; the command line can.
            await Assert.ThrowsAsync<AccountException>(() => web.Admin.DeleteTotpAsync(Actor.DomainAdmin(WebServer.Postmaster, "a.test"), address));
            Assert.True(await web.Admin.DeleteTotpAsync(Actor.System, address));
        }
        // Without a second factor the password alone logs in (303 at once).
        using var plain = web.Client();
        using var login = await plain.LoginAsync(address, WebServer.Password);
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
    }

    [GeneratedRegex("<code id=\"totp-secret\">([A-Z2-7]+)</code>")]
    private static partial Regex SecretOnPage();

    [GeneratedRegex("name=\"_pending\" value=\"([^\"]+)\"")]
    private static partial Regex PendingOnPage();
}
