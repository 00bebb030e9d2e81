// The user's own vacation message (docs/autoresponder.md): the autoresponder of its own address,
// set, changed and turned off through AccountAdmin as `mailward vacation` does, with the same
// bounds (Autoresponder:MaxTextBytes) and the user's self-service rights (AdminAuthorizer). Dates
// are days in UTC, as the command takes them; the text is shown escaped, never as markup.
using System.Globalization;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Pages;

internal static class VacationPages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/account/vacation", VacationAsync);
        AdminWeb.Map(app, "POST", "/account/vacation", (context, user) => PageKit.ActAsync(context, user!, "/account/vacation", async admin =>
        {
            var start = Day(Layout.Field(context, "start"), "start");
            var end = Day(Layout.Field(context, "end"), "end");
            var a = await admin.SetAutoresponderAsync(user!.Self, user.Address, new AutoresponderChange
            {
                Text = Layout.Field(context, "text").Replace("\r\n", "\n", StringComparison.Ordinal),
                Subject = Layout.Field(context, "subject") is { Length: > 0 } s ? s : AutoresponderLimits.DefaultSubject,
                StartsAt = start,
                EndsAt = end,
                ClearStart = start is null,
                ClearEnd = end is null,
            });
            return a.ActiveNow ? "vacation message on" : "vacation message saved (not answering now: see its dates)";
        }));
        AdminWeb.Map(app, "POST", "/account/vacation/delete", (context, user) => PageKit.ActAsync(context, user!, "/account/vacation", async admin =>
            await admin.DeleteAutoresponderAsync(user!.Self, user.Address) ? "vacation message off" : "there was no vacation message"));
    }

    private static async Task<IResult> VacationAsync(HttpContext context, WebUser? user)
    {
        var admin = context.RequestServices.GetRequiredService<AccountAdmin>();
        var a = await admin.GetAutoresponderAsync(user!.Self, user.Address);
        var state = a is null ? "off" : a.ActiveNow ? "on: answering now" : "saved, not answering now (outside its dates)";
        var body = Html.Of($"""
            <p>Your vacation message is <strong>{state}</strong>. It answers each sender at most once every {a?.IntervalDays ?? admin.Autoresponders.DefaultIntervalDays} days; your mail is still kept.</p>
            <form method="post" action="/account/vacation" class="card">
            {Layout.Csrf(user)}
            <label for="subject">Subject (when the message answered has none)</label>
            <input type="text" id="subject" name="subject" value="{a?.Subject ?? AutoresponderLimits.DefaultSubject}" maxlength="200">
            <label for="text">Message</label>
            <textarea id="text" name="text" rows="8" required>{a?.Text ?? ""}</textarea>
            <label for="start">From (a day, UTC; empty: now)</label>
            <input type="date" id="start" name="start" value="{a?.StartsAt?.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? ""}">
            <label for="end">Until (a day, UTC; empty: until turned off)</label>
            <input type="date" id="end" name="end" value="{a?.EndsAt?.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? ""}">
            <p><button type="submit">Save vacation message</button></p>
            </form>
            {Html.When(a is not null, Html.Of($"""
                <form method="post" action="/account/vacation/delete" class="card">
                {Layout.Csrf(user)}
                <p><button type="submit">Turn off</button></p>
                </form>
                """))}
            """);
        return Layout.Page(context, user, "Vacation message", body);
    }

    internal static DateTimeOffset? Day(string text, string field) =>
        text.Trim().Length == 0 ? null
        : DateTimeOffset.TryParseExact(text.Trim(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t) ? t
        : throw new AccountException(AccountError.InvalidArgument, $"{field}: not a day: {text} (2026-12-24)");
}
