// One answer for every web request the account store cannot serve just now (PostgreSQL stopped or
// restarting): 503 with Retry-After (RFC 9110 §15.6.4, §10.2.3), problem details on /api and an error
// page elsewhere, and one log line (event 1808); never a 500. The login pages answer their own 503.
using Mailward.Core.Accounts;
using Mailward.Web.Pages;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailward.Web.Hosting;

internal static class StoreOutage
{
    /// <summary>
    /// Retry-After, in seconds: the mail protocols' clients come back on their own schedule, a person
    /// or a script should not hammer a store that is restarting; the login page says the same.
    /// </summary>
    public const int RetryAfterSeconds = 30;

    public const string Detail = "the account store cannot be reached just now (it may be restarting): try again later";

    /// <summary>The middleware: runs the rest of the pipeline and turns the store's "unavailable" into 503.</summary>
    public static async Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (Exception e) when (Cause(e) is { } cause && !context.Response.HasStarted)
        {
            WebLog.StoreUnavailable(context.RequestServices.GetRequiredService<ILogger<WebLog>>(), context.Request.Method,
                Mailward.Core.Policy.ClientText.Printable(context.Request.Path.Value ?? ""), AdminWeb.ClientAddress(context), cause.Message);
            context.Response.Clear();
            context.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var result = context.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal)
                ? Api.Problems.Problem(StatusCodes.Status503ServiceUnavailable, "unavailable", Detail)
                : Layout.ErrorPage(context, WebRequest.User(context), StatusCodes.Status503ServiceUnavailable, "Temporarily unavailable",
                    "The account store cannot be reached just now (it may be restarting). Try again in a minute.");
            await result.ExecuteAsync(context);
        }
    }

    /// <summary>The store's exception, also when a layer wrapped it; null for any other failure (those stay 500s).</summary>
    private static AccountStoreUnavailableException? Cause(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is AccountStoreUnavailableException u)
                return u;
            if (e is AggregateException { InnerExceptions.Count: 1 } a)
                return Cause(a.InnerExceptions[0]);
        }
        return null;
    }
}
