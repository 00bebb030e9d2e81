// vadduser, vdeluser, vpasswd, vchangepw, vsetuserquota, vmoduser, vuserinfo.
using Mailward.Cli;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Admin;
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

    private static int Vadduser(Getopt.Result r, CliContext ctx)
    {
        var address = Operand(r, 0, "email_address");
        NoMoreOperands(r, 2);
        var password = PasswordFrom(r, ctx, address, operand: 1, allowNone: true);
        var quota = r.Value('q') is { } q ? Quota.Parse(q) : (Quota?)null;
        var result = ctx.Admin.AddUser(address, password, r.Value('c'), quota);
        if (result.GeneratedPassword is not null)
            ctx.Out.WriteLine($"Random password: {result.GeneratedPassword}");
        return 0;
    }

    private static int Vdeluser(Getopt.Result r, CliContext ctx)
    {
        ctx.Admin.DeleteUser(Operand(r, 0, "email_address"));
        NoMoreOperands(r, 1);
        return 0;
    }

    private static int Vpasswd(Getopt.Result r, CliContext ctx)
    {
        var address = Operand(r, 0, "email_address");
        NoMoreOperands(r, 2);
        ctx.Admin.RequireUser(address);
        var password = PasswordFrom(r, ctx, address, operand: 1);
        var generated = ctx.Admin.SetPassword(address, password);
        if (generated is not null)
            ctx.Out.WriteLine($"Random password: {generated}");
        return 0;
    }

    /// <summary>Interactive, as vpopmail's: address, old password, new password twice (one line each when piped).</summary>
    private static int Vchangepw(Getopt.Result r, CliContext ctx)
    {
        NoMoreOperands(r, 0);
        ctx.Error.Write("Please enter the email address: ");
        var address = ctx.Console.In.ReadLine()?.Trim() ?? throw new UsageException("no address given");
        var old = ReadSecret(ctx, "Enter old password: ");
        var first = ReadSecret(ctx, "Please enter password for " + address + ": ");
        var second = ReadSecret(ctx, "enter password again: ");
        if (first != second)
            throw new AccountException(AccountError.PasswordMismatch, "passwords do not match");
        ctx.Admin.ChangePassword(address, old, first);
        ctx.Out.WriteLine($"password of {MailAddress.Parse(address)} changed");
        return 0;
    }

    private static string ReadSecret(CliContext ctx, string prompt)
    {
        ctx.Error.Write(prompt);
        return ctx.Console.In.ReadLine() ?? throw new UsageException("input ended before all passwords were given");
    }

    private static int Vsetuserquota(Getopt.Result r, CliContext ctx)
    {
        var target = Operand(r, 0, "email_address or domain");
        var quota = Operand(r, 1, "quota");
        NoMoreOperands(r, 2);
        UserCommands.SetQuota(ctx, target, quota);
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

    private static int Vmoduser(Getopt.Result r, CliContext ctx)
    {
        var target = Operand(r, 0, "email_addr or domain");
        NoMoreOperands(r, 1);
        Ignore(r, ctx, "vmoduser", "n", "there is no cdb file to rebuild");
        var change = new AccountAdmin.UserChange
        {
            ClearFlags = r.Has('x'),
            Set = VmoduserFlags.Where(f => r.Has(f.Option)).Aggregate(UserFlags.None, (a, f) => a | f.Flag),
            Gecos = r.Value('c'),
            Quota = r.Value('q') is { } q ? Quota.Parse(q) : null,
            Password = r.Value('e') is { } e ? new PasswordInput.Hashed(e) : r.Value('C') is { } c ? new PasswordInput.Clear(c) : null,
        };
        var addresses = target.Contains('@', StringComparison.Ordinal) || target.Contains('%', StringComparison.Ordinal)
            ? [target]
            : ctx.Admin.ListUsers(target).Select(u => u.Address).ToList();
        foreach (var a in addresses)
            ctx.Admin.ModifyUser(a, change);
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

    private static int Vuserinfo(Getopt.Result r, CliContext ctx)
    {
        var fields = "npugcdqQlC".Where(r.Has).ToList();
        IReadOnlyList<UserRecord> users = r.Value('D') is { } domain
            ? ctx.Admin.ListUsers(domain)
            : [ctx.Admin.RequireUser(Operand(r, 0, "email_address"))];
        foreach (var u in users)
        {
            if (r.Has('D'))
                ctx.Out.WriteLine("------------------------------------------");
            if (fields.Count == 0)
                PrintVuserinfoAll(ctx, u);
            else
                foreach (var f in fields)
                    ctx.Out.WriteLine(Field(ctx, u, f));
        }
        return 0;
    }

    private static string Field(CliContext ctx, UserRecord u, char f) => f switch
    {
        'n' => u.Local,
        'p' => u.PasswordHash,
        'u' => ServiceIds().Uid,
        'g' => ((int)u.Flags).ToString(),
        'c' => u.Gecos,
        'd' => ctx.Admin.Layout.Resolve(u.Directory),
        'q' => CommandHelpers.Format(u.Quota),
        'Q' => u.Quota.IsUnlimited ? "NOQUOTA"
            : $"{MaildirUsage.Percent(MaildirUsage.Measure(MailStoreLayout.MaildirOf(ctx.Admin.Layout.Resolve(u.Directory))), u.Quota)}%",
        'C' => u.ClearPassword ?? "",
        _ => LastAuth(u),
    };

    private static string LastAuth(UserRecord u) => u.LastLogin is { } l
        ? $"last auth: {CommandHelpers.FormatTime(l.At)}\nlast auth ip: {l.Address}"
        : "last auth: Never logged in";

    private static void PrintVuserinfoAll(CliContext ctx, UserRecord u)
    {
        var o = ctx.Out;
        o.WriteLine($"name:   {u.Local}");
        o.WriteLine($"passwd: {u.PasswordHash}");
        o.WriteLine($"clear passwd: {u.ClearPassword}");
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
        var folder = ctx.Admin.Layout.Resolve(u.Directory);
        o.WriteLine($"dir:       {folder}");
        o.WriteLine($"quota:     {CommandHelpers.Format(u.Quota)}");
        o.WriteLine($"usage:     {Field(ctx, u, 'Q')}");
        o.WriteLine($"account created: {CommandHelpers.FormatTime(u.CreatedAt)}");
        o.WriteLine(LastAuth(u));
    }
}
