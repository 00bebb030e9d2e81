// The account's own page: what the account is (quota, flags, last login) and the password change,
// as vchangepw does it: the old password checked by LoginService (throttled), the new one given
// twice, refused with no-password-change. A new password ends the account's other sessions; this
// browser gets a new session.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Mailward.Web.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Pages;

internal static class AccountPages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/account", AccountAsync);
        AdminWeb.Map(app, "POST", "/account/password", (context, user) => PageKit.ActAsync(context, user!, "/account", async admin =>
        {
            // The flash goes to the browser's new session; the old one has ended.
            var fresh = await ChangeOwnPasswordAsync(context, user!, admin, Layout.Field(context, "old"), Layout.Field(context, "new"), Layout.Field(context, "again"));
            fresh?.Flash = "password changed";
            return "password changed";
        }));
        AdminWeb.Map(app, "POST", "/account/totp", BeginTotpAsync);
        AdminWeb.Map(app, "POST", "/account/totp/confirm", (context, user) => PageKit.ActAsync(context, user!, "/account", async admin =>
        {
            await admin.ConfirmTotpAsync(user!.Self, user.Address, Layout.Field(context, "code"));
            return "two-factor login is on: the next login asks for a code";
        }));
        AdminWeb.Map(app, "POST", "/account/totp/delete", (context, user) => PageKit.ActAsync(context, user!, "/account", async admin =>
        {
            // A live session is not enough to drop the second factor: a current code proves the device too.
            if (admin.CheckTotp(user!.Record, Layout.Field(context, "code")) is TotpCheck.Wrong or TotpCheck.Replayed)
            {
                context.RequestServices.GetRequiredService<LoginService>().SecondFactorFailed(user.Record, AdminWeb.ClientAddress(context));
                throw new AccountException(AccountError.InvalidArgument, "wrong code: two-factor login stays on");
            }
            await admin.DeleteTotpAsync(user.Self, user.Address);
            return "two-factor login is off";
        }));
    }

    /// <summary>A new secret, shown this once (as text and as the otpauth:// URI apps take), with the form that turns it on.</summary>
    private static async Task<IResult> BeginTotpAsync(HttpContext context, WebUser? user)
    {
        var admin = context.RequestServices.GetRequiredService<AccountAdmin>();
        await context.Request.ReadFormAsync(context.RequestAborted);
        TotpEnrolment e;
        try
        {
            e = await admin.BeginTotpAsync(user!.Self, user.Address, context.RequestServices.GetRequiredService<AdminWebOptions>().Hostname);
        }
        catch (AccountException x)
        {
            return Layout.ErrorPage(context, user, x.Error is AccountError.Forbidden or AccountError.NotPermitted ? 403 : 400, "Two-factor login", x.Message);
        }
        var body = Html.Of($"""
            <p>Add this account to an authenticator app (RFC 6238: 6 digits, 30 seconds, SHA-1), then enter the code it shows.
            The secret is shown only now; until a code is entered the login does not ask for one.</p>
            <dl class="facts">
            <dt>Secret</dt><dd><code id="totp-secret">{e.Secret}</code></dd>
            <dt>Key URI</dt><dd><code id="totp-uri">{e.Uri}</code></dd>
            </dl>
            <form method="post" action="/account/totp/confirm" class="card">
            {Layout.Csrf(user)}
            <label for="code">Code</label>
            <input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus>
            <p><button type="submit">Turn on</button></p>
            </form>
            """);
        return Layout.Page(context, user, "Two-factor login", body);
    }

    private static async Task<IResult> AccountAsync(HttpContext context, WebUser? user)
    {
        var admin = context.RequestServices.GetRequiredService<AccountAdmin>();
        var u = await admin.GetUserAsync(user!.Self, user.Address);
        var logins = await admin.ListLoginsAsync(user.Self, user.Address);
        var password = u.Flags.HasFlag(UserFlags.NoPasswordChange)
            ? Html.Of($"<p class=\"muted\">This account's password is changed by its admin (no-password-change).</p>")
            : Html.Of($"""
                <form method="post" action="/account/password" class="card">
                {Layout.Csrf(user)}
                <label for="old">Current password</label><input type="password" id="old" name="old" autocomplete="current-password" required>
                <label for="new">New password</label><input type="password" id="new" name="new" autocomplete="new-password" required>
                <label for="again">New password again</label><input type="password" id="again" name="again" autocomplete="new-password" required>
                <p><button type="submit">Change password</button></p>
                </form>
                """);
        var totp = admin.HasTotp(user.Record)
            ? Html.Of($"""
                <p>On: a login asks for a code from the authenticator app after the password.</p>
                <form method="post" action="/account/totp/delete" class="card">
                {Layout.Csrf(user)}
                <label for="off-code">A current code</label>
                <input type="text" id="off-code" name="code" inputmode="numeric" autocomplete="one-time-code" required>
                <p><button type="submit">Turn off</button></p>
                </form>
                """)
            : Html.Of($"""
                <p>Off. With it on, a login asks for a code from an authenticator app (TOTP) after the password.</p>
                <form method="post" action="/account/totp" class="card">
                {Layout.Csrf(user)}
                <p><button type="submit">Set up</button></p>
                </form>
                """);
        var body = Html.Of($"""
            <dl class="facts">
            <dt>Address</dt><dd>{u.Address}</dd>
            <dt>Name</dt><dd>{u.Gecos}</dd>
            <dt>Role</dt><dd>{Layout.RoleName(user.Role)}</dd>
            <dt>Quota</dt><dd>{u.Quota}</dd>
            <dt>Flags</dt><dd>{UserFlagNames.Format(u.Flags)}</dd>
            <dt>Last login</dt><dd>{(u.LastLogin is { } l ? $"{l.At:yyyy-MM-dd HH:mm:ss} UTC, {l.Service}, from {l.Address}" : "never")}</dd>
            </dl>
            {UserPages.LoginTable(logins)}
            <h2>Mail programs</h2>
            <p>Thunderbird and Outlook set themselves up from your address. For Apple Mail (iPhone, iPad, Mac):
            <a href="/account/mobileconfig" id="mobileconfig">download a configuration profile</a> (it asks for your password when installed).</p>
            <h2>Password</h2>
            {password}
            <h2>Two-factor login</h2>
            {totp}
            """);
        return Layout.Page(context, user, "My account", body);
    }

    /// <summary>vchangepw's rules and messages; on success the account's sessions end and this browser gets a new one.</summary>
    internal static async Task<WebSession?> ChangeOwnPasswordAsync(HttpContext context, WebUser user, AccountAdmin admin, string old, string first, string second)
    {
        if (first != second)
            throw new AccountException(AccountError.PasswordMismatch, "passwords do not match");
        var services = context.RequestServices;
        var login = await services.GetRequiredService<LoginService>().VerifyAsync(user.Address, old, AdminWeb.ClientAddress(context),
            context.Connection.LocalIpAddress, LoginPages.Service, UserFlags.None, context.RequestAborted);
        if (login.Failure == LoginFailure.Throttled)
            throw new AccountException(AccountError.NotPermitted, "too many failed attempts; try again later");
        if (!login.Succeeded)
        {
            await Task.Delay(services.GetRequiredService<AdminWebOptions>().FailedLoginDelay, services.GetService<TimeProvider>() ?? TimeProvider.System, context.RequestAborted);
            throw new AccountException(AccountError.PasswordMismatch, "the old password is not correct");
        }
        await admin.SetPasswordAsync(user.Self, user.Address, new PasswordInput.Clear(first));
        var sessions = services.GetRequiredService<WebSessions>();
        sessions.EndAll(user.Record.Id);
        if (await services.GetRequiredService<IAccountDirectory>().FindUserAsync(user.Record.Local, user.Record.Domain, context.RequestAborted) is not { } fresh)
            return null;
        var session = sessions.Start(fresh);
        WebRequest.SetSessionCookie(context, session);
        return session;
    }
}
