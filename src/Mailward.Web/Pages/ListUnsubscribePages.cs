// A mailing list's one-click unsubscribe (RFC 8058; docs/lists.md, "One-click unsubscribe"): the
// https: URL of each copy's (or digest's, with digest=1) List-Unsubscribe. POST with List-Unsubscribe=One-Click unsubscribes at
// once (a mail client's button); GET only shows a page whose button POSTs the same (a link opened
// or prefetched by a scanner changes nothing). The token is the only credential; a token that does
// not hold gets one answer whatever the list or address, so nothing says who is subscribed.
using Mailward.Core.Lists;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Pages;

internal static class ListUnsubscribePages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", ListOneClick.EndpointPath, (context, _) => AnswerAsync(context, post: false));
        AdminWeb.Map(app, "POST", ListOneClick.EndpointPath, (context, _) => AnswerAsync(context, post: true));
    }

    private static async Task<IResult> AnswerAsync(HttpContext context, bool post)
    {
        var query = context.Request.Query;
        var list = query["list"].ToString();
        var address = query["address"].ToString();
        var token = query["token"].ToString();
        var digestQuery = query[ListOneClick.DigestKey];
        if (query["list"].Count != 1 || query["address"].Count != 1 || query["token"].Count != 1
            || list.Length is 0 or > 254 || address.Length is 0 or > 254 || token.Length != ListOneClick.TokenLength
            || digestQuery.Count > 1 || (digestQuery.Count == 1 && digestQuery.ToString() != "1"))
            return NotValid(context, StatusCodes.Status400BadRequest);
        var digest = digestQuery.Count == 1;
        // Lists:Enabled=false: no list answers, as for a token that does not hold.
        if (context.RequestServices.GetService<ListOneClick>() is not { } oneClick)
            return NotValid(context, StatusCodes.Status404NotFound);
        var client = AdminWeb.ClientAddress(context).ToString();
        var target = await oneClick.CheckAsync(list, address, token, digest, client, context.RequestAborted);
        if (target is null)
            return NotValid(context, StatusCodes.Status404NotFound);
        var title = $"Leave {target.List.Address}{(digest ? " (digest)" : "")}";
        var what = digest ? "the digest of the mailing list" : "the mailing list";
        if (!post)
            // No action attribute: the form posts to this page's own URL, query and all (also behind a proxy's path).
            return Layout.Page(context, null, title, Html.Of($"""
                <p>Unsubscribe <strong>{target.Address}</strong> from {what} {target.List.Address}?</p>
                <form method="post" class="card">
                <input type="hidden" name="{ListOneClick.PostKey}" value="{ListOneClick.PostValue}">
                <p><button type="submit">Unsubscribe</button></p>
                </form>
                """));
        // RFC 8058 §3.2: the POST's body is List-Unsubscribe=One-Click, form-encoded or multipart.
        var form = context.Request.HasFormContentType ? await context.Request.ReadFormAsync(context.RequestAborted) : null;
        if (form is null || form[ListOneClick.PostKey].ToString() != ListOneClick.PostValue)
            return Layout.ErrorPage(context, null, StatusCodes.Status400BadRequest, title,
                $"The request did not carry {ListOneClick.PostKey}={ListOneClick.PostValue}: nothing was changed.");
        try
        {
            oneClick.Unsubscribe(target, client);
        }
        catch (Exception e) when (e is TimeoutException or ListDamagedException)
        {
            // The list is busy or a file of it is damaged (logged): nothing changed, the client may try again.
            context.Response.Headers.RetryAfter = "60";
            return Layout.ErrorPage(context, null, StatusCodes.Status503ServiceUnavailable, title, "The list cannot be changed just now: nothing was changed. Try again later.");
        }
        // The same answer whether the address was subscribed or not.
        return Layout.Page(context, null, "Unsubscribed", Html.Of($"<p>{target.Address} gets no more {(digest ? "digests" : "posts")} of {target.List.Address}.</p>"));
    }

    private static IResult NotValid(HttpContext context, int status) =>
        Layout.ErrorPage(context, null, status, "Not a valid link", "This unsubscribe link is not valid. To leave a list, write to its -unsubscribe address.");
}
