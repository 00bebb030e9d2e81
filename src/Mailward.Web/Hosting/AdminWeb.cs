// How the web admin joins the server: AddAdminWeb registers its services from the settings,
// ConfigureListener sets up the Admin listener on the shared Kestrel host (HTTP/1.1; HTTPS with
// the mail listeners' certificate when bound off loopback), MapAdminWeb adds the request pipeline
// (forwarded headers from named proxies only, security headers, the session) and every endpoint,
// each through its row of WebAccess.Table.
using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Mailward.Core.Configuration;
using Mailward.Web.Access;
using Mailward.Web.Api;
using Mailward.Web.Monitoring;
using Mailward.Web.Pages;
using Mailward.Web.Sessions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Hosting;

public static class AdminWeb
{
    /// <summary>Registers the web admin's services; returns its options (Enabled false: nothing was registered).</summary>
    public static AdminWebOptions AddAdminWeb(this IServiceCollection services, MailwardSettings settings)
    {
        var options = AdminWebOptions.From(settings);
        if (!options.Enabled)
            return options;
        _ = options.Transport; // refuses to start here, before anything is bound, when the proxy is not named
        services.AddRouting();
        services.AddSingleton(options);
        services.AddSingleton(MetricsOptions.From(settings));
        services.AddSingleton(sp => new WebSessions(options.SessionIdle, options.SessionMax, options.MaxSessions,
            sp.GetService<TimeProvider>() ?? TimeProvider.System)
        { SecondFactorWait = options.SecondFactorWait });
        return options;
    }

    /// <summary>The Admin listener: HTTP/1.1, with TLS off loopback unless a proxy terminates it.</summary>
    public static void ConfigureListener(ListenOptions listen, AdminWebOptions options, Func<X509Certificate2> certificate)
    {
        listen.Protocols = HttpProtocols.Http1;
        if (options.Transport == AdminTransport.Https)
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                // The current certificate at each handshake, so a renewal is served without a restart.
                ServerCertificateSelector = (_, _) => certificate(),
                SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            });
    }

    /// <summary>The request pipeline and every endpoint.</summary>
    public static void MapAdminWeb(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<AdminWebOptions>();
        if (options.Transport == AdminTransport.PlainBehindProxy)
        {
            var forwarded = new ForwardedHeadersOptions
            {
                ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
                ForwardLimit = 1,
            };
            // Only the named proxies: the defaults (loopback) are cleared, so nobody else can claim an address.
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            foreach (var proxy in options.TrustedProxies)
                forwarded.KnownProxies.Add(proxy);
            app.UseForwardedHeaders(forwarded);
        }
        app.Use(SecurityHeaders);
        app.Use(StoreOutage.HandleAsync); // before the session: resolving an API key reads the store too
        app.Use(WebRequest.ResolveSessionAsync);

        AssetEndpoints.Map(app);
        LoginPages.Map(app);
        DomainPages.Map(app);
        UserPages.Map(app);
        KeyPages.Map(app);
        AccountPages.Map(app);
        VacationPages.Map(app);
        AuditPages.Map(app);
        ForwardPages.Map(app);
        ListUnsubscribePages.Map(app);
        AliasPages.Map(app);
        ListPages.Map(app);
        DomainSettingsPages.Map(app);
        SystemPages.Map(app);
        Autoconfig.AutoconfigEndpoints.Map(app);
        ApiEndpoints.Map(app);
        MonitoringEndpoints.Map(app);
    }

    /// <summary>
    /// On every answer: a CSP that allows nothing but this origin's own files (no inline script or
    /// style) and no framing, no MIME sniffing, no referrer, and no caching of anything but assets.
    /// </summary>
    private static Task SecurityHeaders(HttpContext context, RequestDelegate next)
    {
        context.Response.OnStarting(() =>
        {
            var h = context.Response.Headers;
            h.ContentSecurityPolicy = "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'";
            h.XContentTypeOptions = "nosniff";
            h.XFrameOptions = "DENY";
            h["Referrer-Policy"] = "no-referrer";
            h["Cross-Origin-Opener-Policy"] = "same-origin";
            if (!context.Request.Path.StartsWithSegments("/assets", StringComparison.Ordinal))
                h.CacheControl = "no-store";
            return Task.CompletedTask;
        });
        return next(context);
    }

    /// <summary>Maps one endpoint through its access rule: sign-in, role, and (for unsafe methods) the anti-forgery token come first.</summary>
    internal static void Map(WebApplication app, string method, string route, Func<HttpContext, WebUser?, Task<IResult>> handler)
    {
        var rule = WebAccess.Find(method, route);
        var api = route.StartsWith("/api/", StringComparison.Ordinal);
        var fields = method == "POST" && !api ? FormFields.For(route) : null;
        app.MapMethods(route, [method], async (HttpContext context) =>
        {
            var user = WebRequest.User(context);
            IResult result;
            if (rule.Need == Need.Scraper)
            {
                var metrics = context.RequestServices.GetRequiredService<MetricsOptions>();
                result = ScrapeAccess.Allows(context, metrics) ? await handler(context, null) : ScrapeAccess.Refusal(context, metrics);
                await result.ExecuteAsync(context);
                return;
            }
            if (rule.Need == Need.Token)
            {
                // The handler checks the link's token; whoever is logged in (or not) is no part of it.
                await (await handler(context, null)).ExecuteAsync(context);
                return;
            }
            switch (WebAccess.Decide(rule.Need, user))
            {
                case AccessDecision.SignIn:
                    result = api ? Problems.Unauthenticated() : WebRequest.SeeOther("/login", 302);
                    break;
                case AccessDecision.Forbidden:
                    result = api ? Problems.Forbidden($"{user!.Address} ({user.Role}) may not: {rule.What}")
                        : Layout.ErrorPage(context, user, 403, "Forbidden", $"{user!.Address} may not: {rule.What}.");
                    break;
                default:
                    if (user is { IsApiKey: false } && !HttpMethods.IsGet(method) && !await WebRequest.HasValidCsrfTokenAsync(context, user.Session))
                        result = api ? Problems.Csrf() : Layout.ErrorPage(context, user, 403, "Forbidden", "The form's anti-forgery token is missing or wrong: reload the page and try again.");
                    // A form posts to its own path: a query string on it is another way to send a
                    // field (a crafted link or form naming systemAdmin, a domain, a limit), refused
                    // as an unknown form field is, before the handler reads anything.
                    else if (fields is not null && context.Request.Query.Count > 0)
                        result = Layout.ErrorPage(context, user, 400, "Bad request", $"This form takes no query parameter ('{context.Request.Query.Keys.First()}'): nothing was changed.");
                    else if (fields is not null && context.Request.HasFormContentType
                        && FormFields.Unknown(fields, await context.Request.ReadFormAsync(context.RequestAborted)) is { } unknown)
                        result = Layout.ErrorPage(context, user, 400, "Bad request", $"This form has no field '{unknown}': nothing was changed.");
                    else
                        result = await handler(context, user);
                    break;
            }
            await result.ExecuteAsync(context);
        });
    }

    /// <summary>The client's address as the mail protocols see it (IPv4-mapped made plain).</summary>
    internal static IPAddress ClientAddress(HttpContext context) =>
        context.Connection.RemoteIpAddress is { } a ? (a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a) : IPAddress.None;
}
