// Logging in and out. The password is checked by LoginService, as for POP3, IMAP and SMTP AUTH:
// the same login names, the same throttles (per client, per client and name, per account) and the
// last login recorded, here with service "web". A failure waits Admin:FailedLoginDelayMilliseconds.
// The login form carries its own token, matched against a cookie (login CSRF); a login always
// starts a new session with a new id. An account with a TOTP second factor gets its session only
// after the code (POST /login/totp); a wrong code counts as a failed login.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Mailward.Web.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailward.Web.Pages;

internal static class LoginPages
{
    public const string Service = "web";

    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/", (_, user) => Task.FromResult(user is null ? WebRequest.SeeOther("/login", 302)
            : WebRequest.SeeOther(user.Role == WebRole.User ? "/account" : "/domains", 302)));

        AdminWeb.Map(app, "GET", "/login", (context, user) => Task.FromResult(user is not null
            ? WebRequest.SeeOther("/", 302)
            : LoginForm(context, null, 200)));

        AdminWeb.Map(app, "POST", "/login", LoginAsync);
        AdminWeb.Map(app, "POST", "/login/totp", SecondFactorAsync);

        AdminWeb.Map(app, "POST", "/logout", (context, user) =>
        {
            context.RequestServices.GetRequiredService<WebSessions>().End(user!.Session.Id);
            WebRequest.ClearSessionCookie(context);
            return Task.FromResult(WebRequest.SeeOther("/login"));
        });
    }

    /// <summary>503 with Retry-After, as the mail protocols answer [SYS/TEMP] and 454.</summary>
    private static IResult Unavailable(HttpContext context, string login)
    {
        context.Response.Headers.RetryAfter = StoreOutage.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return LoginForm(context, "Logins are temporarily unavailable (the account store cannot be reached): try again in a minute.", 503, login);
    }

    private static IResult LoginForm(HttpContext context, string? error, int status, string login = "")
    {
        var token = WebSessions.NewToken();
        context.Response.Cookies.Append(WebRequest.LoginCookie, token, WebRequest.CookieOptions(context, "/login"));
        var body = Html.Of($"""
            {Html.When(error is not null, Html.Of($"<p class=\"flash error\" role=\"alert\">{error}</p>"))}
            <form method="post" action="/login" class="card">
            <input type="hidden" name="_login" value="{token}">
            <label for="login">Address</label>
            <input type="text" id="login" name="login" value="{login}" autocomplete="username" required autofocus>
            <label for="password">Password</label>
            <input type="password" id="password" name="password" autocomplete="current-password" required>
            <p><button type="submit">Log in</button></p>
            </form>
            """);
        return Layout.Page(context, null, "Log in", body, status);
    }

    /// <summary>A login; one the account store cannot answer now (PostgreSQL restarting) is a temporary failure, not a wrong password.</summary>
    private static async Task<IResult> LoginAsync(HttpContext context, WebUser? current)
    {
        try
        {
            return await PasswordStepAsync(context, current);
        }
        catch (AccountStoreUnavailableException)
        {
            return Unavailable(context, (await context.Request.ReadFormAsync(context.RequestAborted))["login"].ToString().Trim());
        }
    }

    private static async Task<IResult> PasswordStepAsync(HttpContext context, WebUser? current)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var login = form["login"].ToString().Trim();
        var password = form["password"].ToString();
        if (!context.Request.Cookies.TryGetValue(WebRequest.LoginCookie, out var cookie) || !WebRequest.TokensEqual(cookie, form["_login"]))
            return LoginForm(context, "The login form expired or came from another site: please try again.", 403, login);

        var services = context.RequestServices;
        var logins = services.GetRequiredService<LoginService>();
        var options = services.GetRequiredService<AdminWebOptions>();
        var client = AdminWeb.ClientAddress(context);
        var server = context.Connection.LocalIpAddress;
        // no-webmail closes the web to plain users; an admin keeps the admin pages (its own user page stays closed).
        var refused = UserFlags.NoWebmail;
        if (await logins.ResolveAsync(login, server, context.RequestAborted) is { } target
            && await services.GetRequiredService<IAccountDirectory>().FindUserAsync(target.Local, target.Domain.Name, context.RequestAborted) is { } found
            && WebAccess.RoleOf(services.GetRequiredService<AccountAdmin>().ActorOf(found)) != WebRole.User)
            refused = UserFlags.None;
        var result = await logins.VerifyAsync(login, password, client, server, Service, refused, context.RequestAborted);
        if (!result.Succeeded)
        {
            // The store's outage is no failure of the client's (LoginService counts none): no delay.
            if (result.Failure is not (LoginFailure.ServiceDisabled or LoginFailure.Unavailable))
                await Task.Delay(options.FailedLoginDelay, services.GetService<TimeProvider>() ?? TimeProvider.System, context.RequestAborted);
            return result.Failure switch
            {
                LoginFailure.Unavailable => Unavailable(context, login),
                LoginFailure.Throttled => LoginForm(context, "Too many failed logins: try again later.", 429, login),
                LoginFailure.ServiceDisabled => LoginForm(context, "This account may not use the web pages.", 403, login),
                _ => LoginForm(context, "Wrong address or password.", 401, login),
            };
        }
        var sessions = services.GetRequiredService<WebSessions>();
        if (current is not null)
            sessions.End(current.Session.Id);
        context.Response.Cookies.Delete(WebRequest.LoginCookie, WebRequest.CookieOptions(context, "/login"));
        if (services.GetRequiredService<AccountAdmin>().HasTotp(result.User!))
        {
            // The password was right; no session until the code is (the pending login is bound to this browser by its cookie).
            var pending = sessions.StartPending(result.User!);
            context.Response.Cookies.Append(WebRequest.SecondFactorCookie, pending.Id, WebRequest.CookieOptions(context, "/login"));
            return CodeForm(context, pending, null, 200);
        }
        return StartSession(context, sessions, result.User!);
    }

    private static IResult StartSession(HttpContext context, WebSessions sessions, UserRecord user)
    {
        var session = sessions.Start(user);
        WebRequest.SetSessionCookie(context, session);
        return WebRequest.SeeOther("/");
    }

    private static IResult CodeForm(HttpContext context, PendingLogin pending, string? error, int status)
    {
        var body = Html.Of($"""
            {Html.When(error is not null, Html.Of($"<p class=\"flash error\" role=\"alert\">{error}</p>"))}
            <form method="post" action="/login/totp" class="card">
            <input type="hidden" name="_pending" value="{pending.Id}">
            <p>{pending.Local}@{pending.Domain}: enter the 6-digit code of your authenticator app.</p>
            <label for="code">Code</label>
            <input type="text" id="code" name="code" inputmode="numeric" pattern="[0-9 ]*" autocomplete="one-time-code" required autofocus>
            <p><button type="submit">Log in</button></p>
            </form>
            """);
        return Layout.Page(context, null, "Two-factor login", body, status);
    }

    /// <summary>
    /// The second step, as the first one: when the account store cannot be reached (its lookups, or
    /// on PostgreSQL the shared throttles) it is 503 try-again, the pending login kept; never a 500,
    /// and never a step that skips the throttle.
    /// </summary>
    private static async Task<IResult> SecondFactorAsync(HttpContext context, WebUser? current)
    {
        try
        {
            return await SecondFactorStepAsync(context, current);
        }
        catch (AccountStoreUnavailableException)
        {
            var services = context.RequestServices;
            var form = await context.Request.ReadFormAsync(context.RequestAborted);
            context.Response.Headers.RetryAfter = StoreOutage.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            const string Later = "Logins are temporarily unavailable (the account store cannot be reached): try again in a minute.";
            return context.Request.Cookies.TryGetValue(WebRequest.SecondFactorCookie, out var cookie) && WebRequest.TokensEqual(cookie, form["_pending"])
                && services.GetRequiredService<WebSessions>().FindPending(cookie) is { } pending
                ? CodeForm(context, pending, Later, 503)
                : LoginForm(context, Later, 503);
        }
    }

    /// <summary>
    /// The code of the account's TOTP secret (RFC 6238), each time step accepted once. A wrong or
    /// replayed code counts as a failed login in LoginService's throttles.
    /// </summary>
    private static async Task<IResult> SecondFactorStepAsync(HttpContext context, WebUser? current)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var services = context.RequestServices;
        var sessions = services.GetRequiredService<WebSessions>();
        // The field and the cookie must name the same pending login: another site cannot finish one for this browser.
        if (!context.Request.Cookies.TryGetValue(WebRequest.SecondFactorCookie, out var cookie) || !WebRequest.TokensEqual(cookie, form["_pending"])
            || sessions.FindPending(cookie) is not { } pending)
            return LoginForm(context, "The login expired or came from another site: please log in again.", 403);
        var admin = services.GetRequiredService<AccountAdmin>();
        var logins = services.GetRequiredService<LoginService>();
        var client = AdminWeb.ClientAddress(context);
        var user = await services.GetRequiredService<IAccountDirectory>().FindUserAsync(pending.Local, pending.Domain, context.RequestAborted);
        if (user is null || user.Id != pending.UserId || WebSessions.FingerprintOf(user) != pending.Fingerprint)
        {
            sessions.EndPending(pending.Id);
            return LoginForm(context, "The account changed meanwhile: please log in again.", 403);
        }
        if (logins.IsThrottled(user, client))
            return CodeForm(context, pending, "Too many failed logins: try again later.", 429);
        var check = admin.CheckTotp(user, form["code"].ToString());
        var log = services.GetRequiredService<ILogger<WebLog>>();
        if (check is TotpCheck.Wrong or TotpCheck.Replayed)
        {
            logins.SecondFactorFailed(user, client);
            var outcome = check == TotpCheck.Replayed ? "a code already used" : "wrong code";
            WebLog.SecondFactorRefused(log, user.Address, client, outcome);
            await Task.Delay(services.GetRequiredService<AdminWebOptions>().FailedLoginDelay, services.GetService<TimeProvider>() ?? TimeProvider.System, context.RequestAborted);
            return CodeForm(context, pending, check == TotpCheck.Replayed ? "That code was used already: wait for the next one." : "Wrong code.", 401);
        }
        // Accepted, or the second factor was turned off meanwhile (admin totp-off): the password was right.
        WebLog.SecondFactorAccepted(log, user.Address, client);
        sessions.EndPending(pending.Id);
        if (current is not null)
            sessions.End(current.Session.Id);
        context.Response.Cookies.Delete(WebRequest.SecondFactorCookie, WebRequest.CookieOptions(context, "/login"));
        return StartSession(context, sessions, user);
    }
}
