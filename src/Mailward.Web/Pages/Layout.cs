// The frame of every page: the head with the embedded style sheet (no inline script or style, so
// the CSP can forbid them), the navigation for the role, the log-out form, and one flash message.
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Pages;

internal static class Layout
{
    public static IResult Page(HttpContext context, WebUser? user, string title, Html body, int status = 200)
    {
        var flash = Html.Empty;
        if (user?.Session.Flash is { } message)
        {
            flash = Html.Of($"<p class=\"{(user.Session.FlashIsError ? "flash error" : "flash")}\" role=\"status\">{message}</p>");
            user.Session.Flash = null;
        }
        var nav = user is null ? Html.Empty : Html.Of($"""
            <nav>
            {Html.When(user.Role != WebRole.User, Html.Of($"<a href=\"/domains\">Domains</a>"))}
            {Html.When(user.Role != WebRole.User, Html.Of($"<a href=\"/audit\">Audit log</a>"))}
            {Html.When(user.Role == WebRole.SystemAdmin, Html.Of($"<a href=\"/relay\">Relay rules</a> <a href=\"/queue\">Queue</a> <a href=\"/keys\">API keys</a>"))}
            <a href="/account">My account</a>
            {Html.When(!user.IsApiKey && !user.Record.Flags.HasFlag(Core.Accounts.UserFlags.NoWebmail), Html.Of($"<a href=\"/account/forward\">Forward</a> <a href=\"/account/vacation\">Vacation</a>"))}
            <span class="who">{user.Address} · {RoleName(user.Role)}</span>
            <form method="post" action="/logout" class="inline"><input type="hidden" name="{WebRequest.CsrfField}" value="{user.Session.CsrfToken}"><button type="submit">Log out</button></form>
            </nav>
            """);
        var html = Html.Of($"""
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{title} · Mailward</title>
            <link rel="stylesheet" href="/assets/site.css">
            </head>
            <body>
            <header><a class="brand" href="/">Mailward</a>{nav}</header>
            <main>
            {flash}
            <h1>{title}</h1>
            {body}
            </main>
            </body>
            </html>
            """);
        return Results.Content(html.Value, "text/html; charset=utf-8", statusCode: status);
    }

    public static IResult ErrorPage(HttpContext context, WebUser? user, int status, string title, string message) =>
        Page(context, user, title, Html.Of($"<p class=\"flash error\">{message}</p>"), status);

    /// <summary>The hidden field every form of a logged-in page carries.</summary>
    public static Html Csrf(WebUser user) => Html.Of($"<input type=\"hidden\" name=\"{WebRequest.CsrfField}\" value=\"{user.Session.CsrfToken}\">");

    public static string RoleName(WebRole role) => role switch
    {
        WebRole.SystemAdmin => "system admin",
        WebRole.DomainAdmin => "domain admin",
        WebRole.User => "user",
        WebRole.ApiKey => "api-key",
        _ => "anonymous",
    };

    /// <summary>Remembers a message for the next page and redirects there (post/redirect/get).</summary>
    public static IResult Done(WebUser user, string path, string message, bool error = false)
    {
        user.Session.Flash = message;
        user.Session.FlashIsError = error;
        return WebRequest.SeeOther(path);
    }

    public static string Field(HttpContext context, string name) => context.Request.HasFormContentType ? context.Request.Form[name].ToString() : "";
}
