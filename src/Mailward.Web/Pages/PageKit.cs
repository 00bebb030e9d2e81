// What every admin page shares, so a page is only its own markup and AccountAdmin calls: the
// post/redirect/get of one change (ActAsync), a read that becomes an error page when refused or
// missing (ShowAsync), route values, keyset pages (?q=&after=) with their search form and pager.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Pages;

internal static class PageKit
{
    /// <summary>
    /// One change: done → flash and back to the page; refused by the rules → 403 page (nothing
    /// changed); any other error → its message (the command line's) as the flash.
    /// </summary>
    public static async Task<IResult> ActAsync(HttpContext context, WebUser user, string back, Func<AccountAdmin, Task<string>> change)
    {
        await context.Request.ReadFormAsync(context.RequestAborted);
        try
        {
            return Layout.Done(user, back, await change(Admin(context)));
        }
        catch (AccountException e) when (e.Error is AccountError.Forbidden or AccountError.NotPermitted)
        {
            return Layout.ErrorPage(context, user, 403, "Forbidden", e.Message);
        }
        catch (AccountException e)
        {
            return Layout.Done(user, back, e.Message, error: true);
        }
    }

    /// <summary>A page built from reads: an AccountException (refused, not found) becomes its error page with the HTTP status the API gives.</summary>
    public static async Task<IResult> ShowAsync(HttpContext context, WebUser user, Func<AccountAdmin, Task<IResult>> page)
    {
        try
        {
            return await page(Admin(context));
        }
        catch (AccountException e)
        {
            var status = AccountErrorTable.For(e.Error).HttpStatus;
            return Layout.ErrorPage(context, user, status, status switch { 404 => "Not found", 403 => "Forbidden", _ => "Error" }, e.Message);
        }
    }

    public static AccountAdmin Admin(HttpContext context) => context.RequestServices.GetRequiredService<AccountAdmin>();

    public static string Route(HttpContext context, string name) => context.GetRouteValue(name) as string ?? "";

    /// <summary>The page of ?q=&amp;after= at the listener's page size.</summary>
    public static PageRequest PageOf(HttpContext context)
    {
        var options = context.RequestServices.GetRequiredService<AdminWebOptions>();
        var q = context.Request.Query;
        return new PageRequest(q["after"].FirstOrDefault() is { Length: > 0 } a ? a : null, options.PageSize,
            q["q"].FirstOrDefault() is { Length: > 0 } s ? s.Trim() : null);
    }

    public static Html Pager(string path, PageRequest page, string? next) => next is null ? Html.Empty
        : Html.Of($"<p class=\"pager\"><a rel=\"next\" href=\"{path}?{QueryString.Create([new KeyValuePair<string, string?>("q", page.Search ?? ""), new KeyValuePair<string, string?>("after", next)])}\">Next page</a></p>");

    public static Html SearchForm(string path, string? search, string label) => Html.Of($"""
        <form method="get" action="{path}" class="inline" role="search">
        <input type="search" name="q" value="{search ?? ""}" aria-label="{label}" placeholder="{label}">
        <button type="submit">Search</button>
        </form>
        """);

    public static string Limit(int? limit) => limit is { } n ? n.ToString(System.Globalization.CultureInfo.InvariantCulture) : "unlimited";
}
