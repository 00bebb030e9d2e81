// The API's user endpoints beyond add, read, delete and quota (vpopmaild's mod_user, set_user's
// password, the forward, usage, the vacation message): one AccountAdmin call each. Flags travel by
// the command line's names (UserFlagNames); which of them an actor may set is AdminAuthorizer's.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Mailward.Web.Api;

internal static partial class ApiEndpoints
{
    private static void MapUsers(WebApplication app)
    {
        AdminWeb.Map(app, "PATCH", "/api/v1/users/{address}", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<UserChangeBody>(context);
            var change = new UserChange
            {
                Gecos = b.Name,
                Set = Flags(b.Set),
                Unset = Flags(b.Unset),
                Quota = b.Quota is { } q ? Quota.Parse(q) : null,
            };
            return Results.Json(UserJson.Of(await admin.ModifyUserAsync(user!.Actor, Route(context, "address"), change)), Json);
        }));

        AdminWeb.Map(app, "PUT", "/api/v1/users/{address}/password", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<SetPasswordBody>(context);
            var generated = await admin.SetPasswordAsync(user!.Actor, Route(context, "address"),
                b.Random == true ? new PasswordInput.Random(Core.Passwords.RandomPassword.DefaultLength) : new PasswordInput.Clear(Required(b.Password, "password")));
            return generated is null ? Results.NoContent() : Results.Json(new GeneratedPasswordJson(generated), Json);
        }));

        AdminWeb.Map(app, "GET", "/api/v1/users/{address}/forward", (context, user) => CallAsync(context, async admin =>
            Results.Json(ForwardJson.Of(await admin.GetForwardAsync(user!.Actor, Route(context, "address"))), Json)));

        AdminWeb.Map(app, "PUT", "/api/v1/users/{address}/forward", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<ForwardBody>(context);
            return Results.Json(ForwardJson.Of(await admin.SetForwardAsync(user!.Actor, Route(context, "address"), b.Targets ?? [], b.KeepCopy ?? false)), Json);
        }));

        AdminWeb.Map(app, "GET", "/api/v1/users/{address}/usage", (context, user) => CallAsync(context, async admin =>
            Results.Json(UsageJson.Of(await admin.GetUsageAsync(user!.Actor, Route(context, "address"))), Json)));

        // None set is an answer (on: false), as `mailward vacation show` says "no autoresponder".
        AdminWeb.Map(app, "GET", "/api/v1/users/{address}/vacation", (context, user) => CallAsync(context, async admin =>
            Results.Json(await admin.GetAutoresponderAsync(user!.Actor, Route(context, "address")) is { } a ? VacationJson.Of(a)
                : new VacationJson(Core.Addresses.MailAddress.Parse(Route(context, "address")).ToString(), false, "", "", null, null, 0, false), Json)));

        AdminWeb.Map(app, "PUT", "/api/v1/users/{address}/vacation", (context, user) => CallAsync(context, async admin =>
        {
            var b = await BodyAsync<VacationBody>(context);
            var a = await admin.SetAutoresponderAsync(user!.Actor, Route(context, "address"), new AutoresponderChange
            {
                Text = Required(b.Text, "text"),
                Subject = b.Subject ?? AutoresponderLimits.DefaultSubject,
                StartsAt = b.StartsAt,
                EndsAt = b.EndsAt,
                ClearStart = b.StartsAt is null,
                ClearEnd = b.EndsAt is null,
                IntervalDays = b.IntervalDays,
            });
            return Results.Json(VacationJson.Of(a), Json);
        }));

        // As `mailward vacation off`: none there is no error.
        AdminWeb.Map(app, "DELETE", "/api/v1/users/{address}/vacation", (context, user) => CallAsync(context, async admin =>
        {
            await admin.DeleteAutoresponderAsync(user!.Actor, Route(context, "address"));
            return Results.NoContent();
        }));
    }

    private static UserFlags Flags(IReadOnlyList<string>? names)
    {
        var flags = UserFlags.None;
        foreach (var n in names ?? [])
            flags |= UserFlagNames.ByName.TryGetValue(n, out var f) ? f
                : throw new AccountException(AccountError.InvalidArgument, $"unknown flag: {n} (one of {string.Join(", ", UserFlagNames.ByName.Keys)})");
        return flags;
    }

    /// <param name="Set">Flags to set, by name (no-password-change, domain-admin, ...).</param>
    public sealed record UserChangeBody(string? Name, IReadOnlyList<string>? Set, IReadOnlyList<string>? Unset, string? Quota);

    /// <param name="Random">true: a random password, answered once.</param>
    public sealed record SetPasswordBody(string? Password, bool? Random);

    public sealed record GeneratedPasswordJson(string Password);

    public sealed record ForwardBody(IReadOnlyList<string>? Targets, bool? KeepCopy);

    /// <param name="OtherLines">Delivery lines set on the command line (shown; replaced by the system only).</param>
    public sealed record ForwardJson(string Address, IReadOnlyList<string> Targets, bool KeepCopy, IReadOnlyList<string> OtherLines)
    {
        public static ForwardJson Of(ForwardView f) => new(f.Address, f.Targets, f.KeepCopy, f.OtherLines);
    }

    public sealed record VacationBody(string? Text, string? Subject, DateTimeOffset? StartsAt, DateTimeOffset? EndsAt, int? IntervalDays);

    /// <param name="On">A message is set (answering now or within its dates); false: none.</param>
    public sealed record VacationJson(string Address, bool On, string Subject, string Text, DateTimeOffset? StartsAt, DateTimeOffset? EndsAt, int IntervalDays, bool ActiveNow)
    {
        public static VacationJson Of(AutoresponderView a) => new(a.Address, true, a.Subject, a.Text, a.StartsAt, a.EndsAt, a.IntervalDays, a.ActiveNow);
    }
}
