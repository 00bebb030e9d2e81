// The user's own forward (issue 13: "own forward, with keep a copy"): addresses, one a line, and
// whether a copy stays in the own mailbox, set through AccountAdmin.SetForwardAsync (addresses
// only; |program and /path lines remain the command line's and are shown, never replaced, here).
using Mailward.Core.Admin;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Pages;

internal static class ForwardPages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/account/forward", (context, user) => PageKit.ShowAsync(context, user!, async admin =>
            Layout.Page(context, user, "Forward", Form(user!, await admin.GetForwardAsync(user!.Self, user.Address)))));
        AdminWeb.Map(app, "POST", "/account/forward", (context, user) => PageKit.ActAsync(context, user!, "/account/forward", async admin =>
        {
            var f = await admin.SetForwardAsync(user!.Self, user.Address, Targets(Layout.Field(context, "targets")), Layout.Field(context, "keep") == "yes");
            return f.Targets.Count == 0 ? "forward off: mail stays in your mailbox"
                : $"mail is forwarded to {string.Join(", ", f.Targets)}{(f.KeepCopy ? " and a copy kept here" : "")}";
        }));
    }

    /// <summary>The targets of a text box: one address a line (commas and spaces also separate).</summary>
    public static IReadOnlyList<string> Targets(string text) =>
        text.Split(['\n', '\r', ',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static Html Form(WebUser user, ForwardView f) => Html.Of($"""
        <p>Your mail is {(f.Targets.Count == 0 ? "kept in your mailbox" : $"forwarded to {string.Join(", ", f.Targets)}{(f.KeepCopy ? ", with a copy kept here" : " (no copy kept here)")}")}.</p>
        {Html.When(f.OtherLines.Count > 0, Html.Of($"<p class=\"flash error\">Your delivery also has lines your admin set on the command line ({string.Join(", ", f.OtherLines)}); ask them to change it.</p>"))}
        <form method="post" action="/account/forward" class="card">
        {Layout.Csrf(user)}
        <label for="targets">Forward to (addresses, one a line; empty: no forward)</label>
        <textarea id="targets" name="targets" rows="4">{string.Join("\n", f.Targets)}</textarea>
        <label class="inline"><input type="checkbox" id="keep" name="keep" value="yes"{(f.KeepCopy || f.Targets.Count == 0 ? " checked" : "")}> Keep a copy in my mailbox</label>
        <p><button type="submit">Save forward</button></p>
        </form>
        """);
}
