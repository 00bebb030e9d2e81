// The admin's page of one user (issue 13, item 3): its facts and last login per service, a new password, the
// quota, the per-user flags, the forward (with keep a copy) and the vacation message. Every change
// is one AccountAdmin call with the admin's actor (vpasswd, vmoduser, the forward and vacation
// commands), so the rules are AdminAuthorizer's: a domain admin sets no system flag (system-admin,
// no-limits, expert) and cannot redirect postmaster@ or abuse@ (RFC 2142); the audit log has each.
using System.Globalization;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Pages;

internal static class UserPages
{
    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", "/domains/{domain}/users/{local}", (context, user) => PageKit.ShowAsync(context, user!, admin => UserAsync(context, user!, admin)));
        AdminWeb.Map(app, "POST", "/domains/{domain}/users/{local}/password", (context, user) => PageKit.ActAsync(context, user!, UserPath(context), async admin =>
        {
            // Empty: a random one, shown this once (as `mailward user passwd --random`).
            var typed = Layout.Field(context, "password");
            var generated = await admin.SetPasswordAsync(user!.Actor, Address(context),
                typed.Length > 0 ? new PasswordInput.Clear(typed) : new PasswordInput.Random(Core.Passwords.RandomPassword.DefaultLength));
            return generated is null ? $"password of {Address(context)} set" : $"password of {Address(context)} set to {generated}";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/users/{local}/flags", (context, user) => PageKit.ActAsync(context, user!, UserPath(context), async admin =>
        {
            var (set, unset) = FlagsOf(context, user!);
            var u = await admin.ModifyUserAsync(user!.Actor, Address(context), new UserChange { Set = set, Unset = unset });
            return $"flags of {u.Address}: {UserFlagNames.Format(u.Flags)}";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/users/{local}/forward", (context, user) => PageKit.ActAsync(context, user!, UserPath(context), async admin =>
        {
            var f = await admin.SetForwardAsync(user!.Actor, Address(context), ForwardPages.Targets(Layout.Field(context, "targets")), Layout.Field(context, "keep") == "yes");
            return f.Targets.Count == 0 ? $"forward of {f.Address} off"
                : $"{f.Address} is forwarded to {string.Join(", ", f.Targets)}{(f.KeepCopy ? " and a copy kept" : "")}";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/users/{local}/vacation", (context, user) => PageKit.ActAsync(context, user!, UserPath(context), async admin =>
        {
            var start = VacationPages.Day(Layout.Field(context, "start"), "start");
            var end = VacationPages.Day(Layout.Field(context, "end"), "end");
            var interval = Layout.Field(context, "interval").Trim();
            var a = await admin.SetAutoresponderAsync(user!.Actor, Address(context), new AutoresponderChange
            {
                Text = Layout.Field(context, "text").Replace("\r\n", "\n", StringComparison.Ordinal),
                Subject = Layout.Field(context, "subject") is { Length: > 0 } s ? s : AutoresponderLimits.DefaultSubject,
                StartsAt = start,
                EndsAt = end,
                ClearStart = start is null,
                ClearEnd = end is null,
                IntervalDays = interval.Length == 0 ? null
                    : int.TryParse(interval, NumberStyles.None, CultureInfo.InvariantCulture, out var days) ? days
                    : throw new AccountException(AccountError.InvalidArgument, $"interval: not a number of days: {interval}"),
            });
            return a.ActiveNow ? $"vacation message of {a.Address} on" : $"vacation message of {a.Address} saved (not answering now: see its dates)";
        }));
        AdminWeb.Map(app, "POST", "/domains/{domain}/users/{local}/vacation/delete", (context, user) => PageKit.ActAsync(context, user!, UserPath(context), async admin =>
            await admin.DeleteAutoresponderAsync(user!.Actor, Address(context)) ? $"vacation message of {Address(context)} off" : $"{Address(context)} had no vacation message"));
    }

    private static string Address(HttpContext context) => $"{PageKit.Route(context, "local")}@{PageKit.Route(context, "domain")}";

    private static string UserPath(HttpContext context) =>
        $"/domains/{Uri.EscapeDataString(PageKit.Route(context, "domain"))}/users/{Uri.EscapeDataString(PageKit.Route(context, "local"))}";

    /// <summary>
    /// The flags the actor manages: all of them for the system; without the system flags otherwise,
    /// so a domain admin's save leaves a system-set no-limits as it is. A system flag posted anyway
    /// (no box for it was shown) is a flag to set, which AdminAuthorizer refuses whole.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, UserFlags>> Offered(WebUser user) =>
        UserFlagNames.ByName.Where(kv => user.Actor.HasSystemScope || (kv.Value & AdminAuthorizer.SystemFlags) == 0);

    /// <summary>The boxes ticked are set; the boxes offered and not ticked are cleared.</summary>
    private static (UserFlags Set, UserFlags Unset) FlagsOf(HttpContext context, WebUser user)
    {
        var set = UserFlags.None;
        foreach (var (name, flag) in UserFlagNames.ByName)
            if (Layout.Field(context, name) == "yes")
                set |= flag;
        var offered = Offered(user).Aggregate(UserFlags.None, (all, kv) => all | kv.Value);
        return (set, offered & ~set);
    }

    /// <summary>The last login of each service the account has used (none: nothing shown; the line above says never).</summary>
    public static Html LoginTable(IReadOnlyList<LastLogin> logins) => Html.When(logins.Count > 0, Html.Of($"""
        <table id="logins">
        <thead><tr><th>Service</th><th>Last login (UTC)</th><th>From</th></tr></thead>
        <tbody>{Html.Join(logins.Select(l => Html.Of($"<tr><td>{l.Service}</td><td>{l.At:yyyy-MM-dd HH:mm:ss}</td><td>{l.Address}</td></tr>")))}</tbody>
        </table>
        """));

    private static async Task<IResult> UserAsync(HttpContext context, WebUser user, AccountAdmin admin)
    {
        var address = Address(context);
        var u = await admin.GetUserAsync(user.Actor, address);
        var forward = await admin.GetForwardAsync(user.Actor, address);
        var vacation = await admin.GetAutoresponderAsync(user.Actor, address);
        var usage = await admin.GetUsageAsync(user.Actor, address);
        var logins = await admin.ListLoginsAsync(user.Actor, address);
        var path = $"/domains/{Uri.EscapeDataString(u.Domain)}/users/{Uri.EscapeDataString(u.Local)}";
        var boxes = Html.Join(Offered(user).Select(kv => Html.Of($"""
            <label class="inline"><input type="checkbox" name="{kv.Key}" value="yes"{(u.Flags.HasFlag(kv.Value) ? " checked" : "")}> {kv.Key}</label>
            """)));
        var fixedFlags = u.Flags & AdminAuthorizer.SystemFlags;
        var body = Html.Of($"""
            <p><a href="/domains/{Uri.EscapeDataString(u.Domain)}">Back to {u.Domain}</a> · <a href="/audit?domain={Uri.EscapeDataString(u.Domain)}">Audit log</a></p>
            <dl class="facts">
            <dt>Address</dt><dd>{u.Address}</dd>
            <dt>Name</dt><dd>{u.Gecos}</dd>
            <dt>Flags</dt><dd id="flags">{UserFlagNames.Format(u.Flags)}</dd>
            <dt>Quota</dt><dd>{u.Quota}</dd>
            <dt>Mail</dt><dd id="usage">{usage.Used.Bytes.ToString("N0", CultureInfo.InvariantCulture)} bytes, {usage.Used.Messages.ToString("N0", CultureInfo.InvariantCulture)} messages</dd>
            <dt>Created</dt><dd>{u.CreatedAt:yyyy-MM-dd HH:mm} UTC</dd>
            <dt>Last login</dt><dd id="last-login">{(u.LastLogin is { } l ? $"{l.At:yyyy-MM-dd HH:mm:ss} UTC, {l.Service}, from {l.Address}" : "never")}</dd>
            </dl>
            {LoginTable(logins)}
            <h2>Password</h2>
            <form method="post" action="{path}/password" class="card">
            {Layout.Csrf(user)}
            <label for="password">New password (empty: a random one, shown once)</label><input type="password" id="password" name="password" autocomplete="new-password">
            <p><button type="submit">Set password</button></p>
            </form>
            <h2>Quota</h2>
            <form method="post" action="{path}/quota" class="card">
            {Layout.Csrf(user)}
            <label for="quota">Quota (NOQUOTA, 50M, or 52428800S,1000C)</label><input type="text" id="quota" name="quota" value="{u.Quota}">
            <p><button type="submit">Set quota</button></p>
            </form>
            <h2>Flags</h2>
            <form method="post" action="{path}/flags" class="card">
            {Layout.Csrf(user)}
            <p>{boxes}</p>
            {Html.When(!user.Actor.HasSystemScope, Html.Of($"<p class=\"muted\">system-admin, no-limits and expert are set by the system{(fixedFlags == UserFlags.None ? "" : $" (this account has {UserFlagNames.Format(fixedFlags)})")}.</p>"))}
            <p><button type="submit">Save flags</button></p>
            </form>
            <h2>Forward</h2>
            <p>Mail to {u.Address} is {(forward.Targets.Count == 0 ? "kept in its mailbox" : $"forwarded to {string.Join(", ", forward.Targets)}{(forward.KeepCopy ? ", with a copy kept" : " (no copy kept)")}")}.</p>
            {Html.When(forward.OtherLines.Count > 0, Html.Of($"<p class=\"flash error\">Its delivery also has lines set on the command line ({string.Join(", ", forward.OtherLines)}); they stay.</p>"))}
            <form method="post" action="{path}/forward" class="card">
            {Layout.Csrf(user)}
            <label for="targets">Forward to (addresses, one a line; empty: no forward)</label>
            <textarea id="targets" name="targets" rows="3">{string.Join("\n", forward.Targets)}</textarea>
            <label class="inline"><input type="checkbox" id="keep" name="keep" value="yes"{(forward.KeepCopy || forward.Targets.Count == 0 ? " checked" : "")}> Keep a copy in the mailbox</label>
            <p><button type="submit">Save forward</button></p>
            </form>
            <h2>Vacation message</h2>
            <p>{(vacation is null ? "Off." : vacation.ActiveNow ? "On: answering now." : "Saved, not answering now (outside its dates).")}</p>
            <form method="post" action="{path}/vacation" class="card">
            {Layout.Csrf(user)}
            <label for="subject">Subject (when the message answered has none)</label>
            <input type="text" id="subject" name="subject" value="{vacation?.Subject ?? AutoresponderLimits.DefaultSubject}" maxlength="200">
            <label for="text">Message</label>
            <textarea id="text" name="text" rows="6" required>{vacation?.Text ?? ""}</textarea>
            <label for="start">From (a day, UTC; empty: now)</label>
            <input type="date" id="start" name="start" value="{vacation?.StartsAt?.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? ""}">
            <label for="end">Until (a day, UTC; empty: until turned off)</label>
            <input type="date" id="end" name="end" value="{vacation?.EndsAt?.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? ""}">
            <label for="interval">Answer each sender at most once every (days)</label>
            <input type="number" id="interval" name="interval" min="1" max="{AutoresponderLimits.MaxIntervalDays}" value="{vacation?.IntervalDays ?? admin.Autoresponders.DefaultIntervalDays}">
            <p><button type="submit">Save vacation message</button></p>
            </form>
            {Html.When(vacation is not null, Html.Of($"""
                <form method="post" action="{path}/vacation/delete" class="card">
                {Layout.Csrf(user)}
                <p><button type="submit">Turn vacation off</button></p>
                </form>
                """))}
            """);
        return Layout.Page(context, user, u.Address, body);
    }
}
