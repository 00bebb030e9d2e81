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
        AdminWeb.Map(app, "POST", "/account/password", (context, user) => DomainPages.ActAsync(context, user!, "/account", async admin =>
        {
            // The flash goes to the browser's new session; the old one has ended.
            var fresh = await ChangeOwnPasswordAsync(context, user!, admin, Layout.Field(context, "old"), Layout.Field(context, "new"), Layout.Field(context, "again"));
            fresh?.Flash = "password changed";
            return "password changed";
        }));
    }

    private static async Task<IResult> AccountAsync(HttpContext context, WebUser? user)
    {
        var admin = context.RequestServices.GetRequiredService<AccountAdmin>();
        var u = await admin.GetUserAsync(user!.Self, user.Address);
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
        var body = Html.Of($"""
            <dl class="facts">
            <dt>Address</dt><dd>{u.Address}</dd>
            <dt>Name</dt><dd>{u.Gecos}</dd>
            <dt>Role</dt><dd>{Layout.RoleName(user.Role)}</dd>
            <dt>Quota</dt><dd>{u.Quota}</dd>
            <dt>Flags</dt><dd>{UserFlagNames.Format(u.Flags)}</dd>
            <dt>Last login</dt><dd>{(u.LastLogin is { } l ? $"{l.At:yyyy-MM-dd HH:mm:ss} UTC, {l.Service}, from {l.Address}" : "never")}</dd>
            </dl>
            <h2>Password</h2>
            {password}
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
