// GET /api/v1/users/{address} carries the user's last login per service (vuserinfo's last auth, one
// a service), from real logins: the web's own and an IMAP one by MailKit.
using MailKit.Net.Imap;
using MailKit.Security;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;

namespace Mailward.Tests.Web;

public sealed class WebUserLoginsApiTests(WebServer web) : IClassFixture<WebServer>
{
    [Fact]
    public async Task A_users_answer_lists_its_last_login_per_service()
    {
        await web.Admin.AddUserAsync(Actor.System, "logins@a.test", new PasswordInput.Clear(WebServer.Password));
        using var sa = await web.LoggedInAsync(WebServer.SystemAdmin);
        var before = await sa.GetJsonAsync("/api/v1/users/logins@a.test");
        Assert.Equal(0, before.GetProperty("logins").GetArrayLength());

        using (var self = await web.LoggedInAsync("logins@a.test"))
        using (var imap = new ImapClient { Timeout = 15_000 })
        {
            await imap.ConnectAsync("127.0.0.1", web.Server.Imap.Port, SecureSocketOptions.None);
            await imap.AuthenticateAsync("logins@a.test", WebServer.Password);
            await imap.DisconnectAsync(true);
        }
        var after = await sa.GetJsonAsync("/api/v1/users/logins@a.test");
        var services = after.GetProperty("logins").EnumerateArray().Select(l => l.GetProperty("service").GetString()).Order().ToList();
        Assert.Equal(["imap", "web"], services);
        // address is where the login came from (the client's IP), at when.
        Assert.All(after.GetProperty("logins").EnumerateArray(), l =>
        {
            Assert.Equal("127.0.0.1", l.GetProperty("address").GetString());
            Assert.InRange(l.GetProperty("at").GetDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        });
        // A list of users leaves them out (null), as the answers of changes do.
        var list = await sa.GetJsonAsync("/api/v1/domains/a.test/users?search=logins");
        Assert.Equal(System.Text.Json.JsonValueKind.Null, list.GetProperty("items")[0].GetProperty("logins").ValueKind);
    }
}
