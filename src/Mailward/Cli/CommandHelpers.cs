// Small shared pieces of the command tree: optional-value options, password choice, formatting.
using System.CommandLine;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Passwords;

namespace Mailward.Cli;

internal static class CommandHelpers
{
    public static Command WithAction(this Command command, Func<ParseResult, Task<int>> action)
    {
        command.SetAction((pr, _) => action(pr));
        return command;
    }

    public static Command WithAction(this Command command, Func<ParseResult, Task> action)
    {
        command.SetAction(async (pr, _) =>
        {
            await action(pr);
            return 0;
        });
        return command;
    }

    public static Command WithAction(this Command command, Action<ParseResult> action)
    {
        command.SetAction(pr =>
        {
            action(pr);
            return 0;
        });
        return command;
    }

    /// <summary>--random[=N]: present without a value means vpopmail's default length.</summary>
    public static Option<int?> RandomOption() => new("--random", "-r")
    {
        Description = "Generate a random password of N characters (default 8) and print it.",
        Arity = ArgumentArity.ZeroOrOne,
    };

    public static Option<string> HashOption() => new("--hash", "-e")
    {
        Description = "Store this ready-made hash (crypt(3) DES/$1$/$5$/$6$/bcrypt, Argon2id, or Dovecot {SCHEME}...).",
    };

    /// <summary>The password a command was given: argument, --random, --hash, --no-password, or asked for.</summary>
    public static PasswordInput ChoosePassword(ParseResult pr, CliContext ctx, Argument<string?> password, Option<int?> random,
        Option<string> hash, Option<bool>? none = null)
    {
        var chosen = new List<PasswordInput>();
        if (pr.GetValue(password) is { } p)
            chosen.Add(new PasswordInput.Clear(p));
        if (pr.GetResult(random) is not null)
            chosen.Add(new PasswordInput.Random(pr.GetValue(random) ?? RandomPassword.DefaultLength));
        if (pr.GetValue(hash) is { } h)
            chosen.Add(new PasswordInput.Hashed(h));
        if (none is not null && pr.GetValue(none))
            chosen.Add(new PasswordInput.NoPassword());
        return chosen.Count switch
        {
            0 => new PasswordInput.Clear(ctx.ReadPassword()),
            1 => chosen[0],
            _ => throw new UsageException("give only one of: a password, --random, --hash, --no-password"),
        };
    }

    public static Quota? ParseQuota(string? text) => text is null ? null : Quota.Parse(text);

    public static string Format(Quota q) => q.IsUnlimited ? "NOQUOTA" : q.ToString();

    public static string FormatLimit(int? n) => n is null ? "unlimited" : n.Value.ToString();

    public static string FormatTime(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'");

    public static void PrintGenerated(CliContext ctx, string address, string? generated)
    {
        if (generated is not null)
            ctx.Out.WriteLine($"{address}: random password {generated}");
    }
}
