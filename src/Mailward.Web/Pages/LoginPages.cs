// Logging in and out. The password is checked by LoginService, as for POP3, IMAP and SMTP AUTH:
// the same login names, the same throttles (per client, per client and name, per account) and the
// last login recorded, here with service "web". A failure waits Admin:FailedLoginDelayMilliseconds.
// The login form carries its own token, matched against a cookie (login CSRF); a login always
// starts a new session with a new id.
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

        AdminWeb.Map(app, "POST", "/logout", (context, user) =>
        {
            context.RequestServices.GetRequiredService<WebSessions>().End(user!.Session.Id);
            WebRequest.ClearSessionCookie(context);
            return Task.FromResult(WebRequest.SeeOther("/login"));
        });
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

    private static async Task<IResult> LoginAsync(HttpContext context, WebUser? current)
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
            if (result.Failure != LoginFailure.ServiceDisabled)
                await Task.Delay(options.FailedLoginDelay, services.GetService<TimeProvider>() ?? TimeProvider.System, context.RequestAborted);
            return result.Failure switch
            {
                LoginFailure.Throttled => LoginForm(context, "Too many failed logins: try again later.", 429, login),
                LoginFailure.ServiceDisabled => LoginForm(context, "This account may not use the web pages.", 403, login),
                _ => LoginForm(context, "Wrong address or password.", 401, login),
            };
        }
        var sessions = services.GetRequiredService<WebSessions>();
        if (current is not null)
            sessions.End(current.Session.Id);
        var session = sessions.Start(result.User!);
        WebRequest.SetSessionCookie(context, session);
        context.Response.Cookies.Delete(WebRequest.LoginCookie, WebRequest.CookieOptions(context, "/login"));
        return WebRequest.SeeOther("/");
    }
}
