// Per request: the session cookie turned into the logged-in account (read afresh from the account
// directory, so a deleted account, a new password or a changed flag ends the session at once),
// the anti-forgery check, and the cookies' attributes (HttpOnly, SameSite=Strict, Secure and the
// __Host- prefix when the request came over HTTPS).
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Access;
using Mailward.Web.Sessions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailward.Web.Hosting;

internal static class WebRequest
{
    private const string PlainCookie = "mailward";
    private const string SecureCookie = "__Host-mailward";
    public const string LoginCookie = "mailward-login";
    /// <summary>The login waiting for its second factor (path /login).</summary>
    public const string SecondFactorCookie = "mailward-2fa";
    public const string CsrfField = "_csrf";
    public const string CsrfHeader = "X-CSRF-Token";
    private static readonly object UserKey = new();

    public static string SessionCookieName(HttpContext context) => context.Request.IsHttps ? SecureCookie : PlainCookie;

    public static WebUser? User(HttpContext context) => context.Items.TryGetValue(UserKey, out var u) ? u as WebUser : null;

    public static async Task ResolveSessionAsync(HttpContext context, RequestDelegate next)
    {
        // An API key: the API only (the pages are a browser's, and /metrics has a bearer of its own),
        // looked up in the store at each request, so a revoked key is refused at once. A key that
        // does not work is 401: never a fall-back to a cookie sent along.
        if (context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)
            && context.Request.Headers.Authorization.ToString() is var auth && auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            var key = context.RequestServices.GetRequiredService<AccountAdmin>().ActorForApiKey(auth["Bearer ".Length..].Trim());
            if (key is null)
            {
                var client = AdminWeb.ClientAddress(context);
                WebLog.ApiKeyRefused(context.RequestServices.GetRequiredService<ILogger<WebLog>>(), client, Mailward.Core.Policy.ClientText.Printable(context.Request.Path.Value ?? ""));
                context.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
                await Api.Problems.Problem(401, "unauthenticated", "the API key is unknown, wrong, revoked or expired").ExecuteAsync(context);
                return;
            }
            context.Items[UserKey] = WebUser.ForApiKey(key with { Origin = OriginOf(context) });
            await next(context);
            return;
        }
        var sessions = context.RequestServices.GetRequiredService<WebSessions>();
        if (context.Request.Cookies.TryGetValue(SessionCookieName(context), out var id) && sessions.Find(id) is { } session)
        {
            var directory = context.RequestServices.GetRequiredService<IAccountDirectory>();
            var record = await directory.FindUserAsync(session.Local, session.Domain, context.RequestAborted);
            if (record is null || record.Id != session.UserId || WebSessions.FingerprintOf(record) != session.Fingerprint)
            {
                sessions.End(session.Id);
                ClearSessionCookie(context);
            }
            else
                context.Items[UserKey] = new WebUser(session, record,
                    context.RequestServices.GetRequiredService<AccountAdmin>().ActorOf(record) with { Origin = OriginOf(context) });
        }
        await next(context);
    }

    /// <summary>Where a change came from, for the audit log: the face and the client's address (a named proxy's X-Forwarded-For applied).</summary>
    private static string OriginOf(HttpContext context) =>
        $"{(context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal) ? "api" : "web")} {AdminWeb.ClientAddress(context)}";

    public static void SetSessionCookie(HttpContext context, WebSession session) =>
        context.Response.Cookies.Append(SessionCookieName(context), session.Id, CookieOptions(context, "/"));

    public static void ClearSessionCookie(HttpContext context) =>
        context.Response.Cookies.Delete(SessionCookieName(context), CookieOptions(context, "/"));

    public static CookieOptions CookieOptions(HttpContext context, string path) => new()
    {
        Path = path,
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = context.Request.IsHttps,
        IsEssential = true,
    };

    /// <summary>The synchronizer token from the form field or the header, compared in constant time.</summary>
    public static async Task<bool> HasValidCsrfTokenAsync(HttpContext context, WebSession session)
    {
        string? given = context.Request.Headers[CsrfHeader];
        if (string.IsNullOrEmpty(given) && context.Request.HasFormContentType)
            given = (await context.Request.ReadFormAsync(context.RequestAborted))[CsrfField];
        return TokensEqual(given, session.CsrfToken);
    }

    public static bool TokensEqual(string? a, string? b) =>
        !string.IsNullOrEmpty(a) && !string.IsNullOrEmpty(b) && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));

    /// <summary>A redirect to a path of this site (relative: never built from the request's Host header).</summary>
    public static IResult SeeOther(string path, int status = 303) => new RedirectResult(path, status);

    private sealed class RedirectResult(string path, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = status;
            context.Response.Headers.Location = path;
            return Task.CompletedTask;
        }
    }
}
