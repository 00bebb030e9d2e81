// vadduser, vdeluser, vpasswd, vchangepw, vsetuserquota, vmoduser, vuserinfo.
using System.Net;
using Mailward.Cli;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;

namespace Mailward.Vpopmail;

public static partial class VpopmailTools
{
    private const string UsageVadduser = """
        usage: vadduser [options] email_address [passwd]
        options: -v (print version)
                 -q quota_in_bytes (set the user's quota)
                 -c comment (set the comment/gecos field)
                 -e standard_encrypted_password (store this hash)
                 -n (no password: the account cannot log in)
                 -r[len] (random password, default length 8)
                 -s, -d (accepted and ignored)
        """;

    private static async Task<int> Vadduser(Getopt.Result r, CliContext ctx)
    {
        var address = Operand(r, 0, "email_address");
        NoMoreOperands(r, 2);
        var password = PasswordFrom(r, ctx, address, operand: 1, allowNone: true);
        var quota = r.Value('q') is { } q ? Quota.Parse(q) : (Quota?)null;
        var result = await ctx.Admin.AddUserAsync(ctx.Actor, address, password, r.Value('c'), quota);
        if (result.GeneratedPassword is not null)
            ctx.Out.WriteLine($"Random password: {result.GeneratedPassword}");
        return 0;
    }

    private static async Task<int> Vdeluser(Getopt.Result r, CliContext ctx)
    {
        await ctx.Admin.DeleteUserAsync(ctx.Actor, Operand(r, 0, "email_address"));
        NoMoreOperands(r, 1);
        return 0;
    }

    private static async Task<int> Vpasswd(Getopt.Result r, CliContext ctx)
    {
        var address = Operand(r, 0, "email_address");
        NoMoreOperands(r, 2);
        await ctx.Admin.GetUserAsync(ctx.Actor, address);
        var password = PasswordFrom(r, ctx, address, operand: 1);
        var generated = await ctx.Admin.SetPasswordAsync(ctx.Actor, address, password);
        if (generated is not null)
            ctx.Out.WriteLine($"Random password: {generated}");
        return 0;
    }

    /// <summary>
    /// Interactive, as vpopmail's: address, old password, new password twice (one line each when
    /// piped). The old password is checked by LoginService, as a login from this host (throttled, and
    /// recorded as the last login with service "vchangepw"); the change is then the user's own.
    /// </summary>
    private static async Task<int> Vchangepw(Getopt.Result r, CliContext ctx)
    {
        NoMoreOperands(r, 0);
        ctx.Error.Write("Please enter the email address: ");
        var address = ctx.Console.In.ReadLine()?.Trim() ?? throw new UsageException("no address given");
        var old = ReadSecret(ctx, "Enter old password: ");
        var first = ReadSecret(ctx, "Please enter password for " + address + ": ");
        var second = ReadSecret(ctx, "enter password again: ");
        if (first != second)
            throw new AccountException(AccountError.PasswordMismatch, "passwords do not match");
        var login = await ctx.Logins.VerifyAsync(address, old, IPAddress.Loopback, null, "vchangepw", UserFlags.None);
        if (login.Failure == LoginFailure.Throttled)
            throw new AccountException(AccountError.NotPermitted, "too many failed attempts; try again later");
        if (!login.Succeeded)
            throw new AccountException(AccountError.PasswordMismatch, "the old password is not correct");
        await ctx.Admin.SetPasswordAsync(Actor.User(login.User!.Address), login.User.Address, new PasswordInput.Clear(first));
        ctx.Out.WriteLine($"password of {MailAddress.Parse(address)} changed");
        return 0;
    }

    private static string ReadSecret(CliContext ctx, string prompt)
    {
        ctx.Error.Write(prompt);
        return ctx.Console.In.ReadLine() ?? throw new UsageException("input ended before all passwords were given");
    }

    private static async Task<int> Vsetuserquota(Getopt.Result r, CliContext ctx)
    {
        var target = Operand(r, 0, "email_address or domain");
        var quota = Operand(r, 1, "quota");
        NoMoreOperands(r, 2);
        await UserCommands.SetQuotaAsync(ctx, target, quota);
        return 0;
    }

    private const string UsageVmoduser = """
        usage: vmoduser [options] email_addr or domain (for each user in domain)
        options: -v (print version)
                 -q quota (set quota)
                 -c comment (set the comment/gecos field)
                 -e encrypted_passwd (set the password hash)
                 -C clear_text_passwd (set the password)
        the following options are bit flags in the gid int field
                 -x (clear all flags)
                 -d (don't allow user to change password)
                 -p (disable POP access)
                 -s (disable SMTP AUTH access)
                 -w (disable webmail access)
                 -i (disable IMAP access)
                 -b (bounce all mail)
                 -o (user is not subject to domain limits)
                 -r (disable roaming user / external relay)
                 -a (grant domain administrator privileges)
                 -S (grant system administrator privileges)
                 -E (grant expert privileges)
                 -u (set no dialup flag)
        """;

    private static readonly (char Option, UserFlags Flag)[] VmoduserFlags =
    [
        ('d', UserFlags.NoPasswordChange), ('p', UserFlags.NoPop), ('s', UserFlags.NoSmtp), ('w', UserFlags.NoWebmail),
        ('i', UserFlags.NoImap), ('b', UserFlags.BounceMail), ('o', UserFlags.NoLimits), ('r', UserFlags.NoRelay),
        ('a', UserFlags.DomainAdmin), ('S', UserFlags.SystemAdmin), ('E', UserFlags.Expert), ('u', UserFlags.NoDialup),
    ];

    private static async Task<int> Vmoduser(Getopt.Result r, CliContext ctx)
    {
        var target = Operand(r, 0, "email_addr or domain");
        NoMoreOperands(r, 1);
        Ignore(r, ctx, "vmoduser", "n", "there is no cdb file to rebuild");
        var change = new UserChange
        {
            ClearFlags = r.Has('x'),
            Set = VmoduserFlags.Where(f => r.Has(f.Option)).Aggregate(UserFlags.None, (a, f) => a | f.Flag),
            Gecos = r.Value('c'),
            Quota = r.Value('q') is { } q ? Quota.Parse(q) : null,
            Password = r.Value('e') is { } e ? new PasswordInput.Hashed(e) : r.Value('C') is { } c ? new PasswordInput.Clear(c) : null,
        };
        var addresses = target.Contains('@', StringComparison.Ordinal) || target.Contains('%', StringComparison.Ordinal)
            ? [target]
            : (await ctx.Admin.ListUsersAsync(ctx.Actor, target)).Select(u => u.Address).ToList();
        foreach (var a in addresses)
            await ctx.Admin.ModifyUserAsync(ctx.Actor, a, change);
        return 0;
    }

    private const string UsageVuserinfo = """
        usage: vuserinfo [options] email_address
        options: -v (print version number)
                 -a (display all fields, this is the default)
                 -n (display name field)
                 -p (display crypted password)
                 -u (display uid field)
                 -g (display gid field: the flags)
                 -c (display comment field)
                 -d (display directory)
                 -q (display quota field)
                 -Q (display quota usage)
                 -C (display clear text password)
                 -l (display last authentication time)
                 -D domainname (show all users on this domain)
        """;

    private static async Task<int> Vuserinfo(Getopt.Result r, CliContext ctx)
    {
        var fields = "npugcdqQlC".Where(r.Has).ToList();
        IReadOnlyList<UserView> users = r.Value('D') is { } domain
            ? await ctx.Admin.ListUsersAsync(ctx.Actor, domain)
            : [await ctx.Admin.GetUserAsync(ctx.Actor, Operand(r, 0, "email_address"))];
        foreach (var u in users)
        {
            if (r.Has('D'))
                ctx.Out.WriteLine("------------------------------------------");
            // The hash and clear copy come only from the secrets read, which only the command line may make.
            var secrets = fields.Count == 0 || fields.Contains('p') || fields.Contains('C') ? await ctx.Admin.GetUserSecretsAsync(ctx.Actor, u.Address) : null;
            if (fields.Count == 0)
                PrintVuserinfoAll(ctx, u, secrets!);
            else
                foreach (var f in fields)
                    ctx.Out.WriteLine(Field(u, secrets, f));
        }
        return 0;
    }

    private static string Field(UserView u, UserSecrets? secrets, char f) => f switch
    {
        'n' => u.Local,
        'p' => secrets!.PasswordHash,
        'u' => ServiceIds().Uid,
        'g' => ((int)u.Flags).ToString(),
        'c' => u.Gecos,
        'd' => u.Folder,
        'q' => CommandHelpers.Format(u.Quota),
        'Q' => u.Quota.IsUnlimited ? "NOQUOTA"
            : $"{MaildirUsage.Percent(MaildirUsage.Measure(u.Maildir), u.Quota)}%",
        'C' => secrets!.ClearPassword ?? "",
        _ => LastAuth(u),
    };

    private static string LastAuth(UserView u) => u.LastLogin is { } l
        ? $"last auth: {CommandHelpers.FormatTime(l.At)}\nlast auth ip: {l.Address}"
        : "last auth: Never logged in";

    private static void PrintVuserinfoAll(CliContext ctx, UserView u, UserSecrets secrets)
    {
        var o = ctx.Out;
        o.WriteLine($"name:   {u.Local}");
        o.WriteLine($"passwd: {secrets.PasswordHash}");
        o.WriteLine($"clear passwd: {secrets.ClearPassword}");
        o.WriteLine($"comment/gecos: {u.Gecos}");
        o.WriteLine($"uid:    {ServiceIds().Uid}");
        o.WriteLine($"gid:    {(int)u.Flags}");
        o.WriteLine($"flags:  {(int)u.Flags}");
        o.WriteLine($"gecos: {u.Gecos}");
        if (u.Flags == UserFlags.None)
            o.WriteLine("limits: No user limits set.");
        else
        {
            o.WriteLine("limits:");
            foreach (var (name, flag) in UserFlagNames.ByName)
                if (u.Flags.HasFlag(flag))
                    o.WriteLine($"        {name}");
        }
        o.WriteLine($"dir:       {u.Folder}");
        o.WriteLine($"quota:     {CommandHelpers.Format(u.Quota)}");
        o.WriteLine($"usage:     {Field(u, secrets, 'Q')}");
        o.WriteLine($"account created: {CommandHelpers.FormatTime(u.CreatedAt)}");
        o.WriteLine(LastAuth(u));
    }
}
