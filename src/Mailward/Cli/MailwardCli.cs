// The command layer: takes the global options out of the arguments, sends vpopmail tool names to
// their getopt-style front (Vpopmail/), everything else to the System.CommandLine tree, and turns
// errors into one stderr line and a distinct exit status.
using System.CommandLine;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Configuration;
using Mailward.Vpopmail;

namespace Mailward.Cli;

public static class MailwardCli
{
    public const int ExitUsage = 1;
    public const int ExitSettings = 3;

    public static async Task<int> RunAsync(string[] args, CliConsole console, string? invokedAs = null, CancellationToken ct = default)
    {
        List<string> rest;
        CliContext context;
        try
        {
            (rest, var dataOption, var settingArgs) = ExtractGlobalOptions(args);
            context = new CliContext(console, dataOption, settingArgs);
        }
        catch (UsageException e)
        {
            console.Error.WriteLine($"mailward: {e.Message}");
            return ExitUsage;
        }
        using var _ = context;
        // sendmail has its own exit statuses (sysexits.h) and its own data folder fallback.
        if (Sendmail.SendmailCommand.IsName(invokedAs))
            return await Sendmail.SendmailCommand.RunAsync(invokedAs!, rest, console, context.DataOption, context.SettingArgs, ct);
        if (rest.Count > 0 && rest[0] == "sendmail")
            return await Sendmail.SendmailCommand.RunAsync("sendmail", rest.Skip(1).ToList(), console, context.DataOption, context.SettingArgs, ct);
        try
        {
            if (invokedAs is not null && VpopmailTools.IsTool(invokedAs))
                return await VpopmailTools.RunAsync(invokedAs, rest, context);
            if (rest.Count > 0 && VpopmailTools.IsTool(rest[0]))
                return await VpopmailTools.RunAsync(rest[0], rest.Skip(1).ToList(), context);
            var root = BuildRoot(context);
            var parse = root.Parse(rest);
            return await parse.InvokeAsync(new InvocationConfiguration
            {
                Output = console.Out,
                Error = console.Error,
                EnableDefaultExceptionHandler = false,
                // The host's console lifetime handles SIGTERM/SIGINT and stops gracefully; the
                // parser's own handler would force an exit after its timeout.
                ProcessTerminationTimeout = null,
            }, ct);
        }
        catch (AccountException e)
        {
            console.Error.WriteLine($"mailward: {e.Message}");
            return e.ExitCode();
        }
        catch (SettingsException e)
        {
            console.Error.WriteLine($"mailward: {e.Message}");
            return ExitSettings;
        }
        catch (UsageException e)
        {
            console.Error.WriteLine($"mailward: {e.Message}");
            return ExitUsage;
        }
    }

    public static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("Mailward: a mail server for many virtual domains (SMTP, queue, Maildir, POP3, IMAP).")
        {
            new Option<string>("--data") { Description = "Data folder (default: $MAILWARD_DATA, else ./mailward-data).", Recursive = true },
        };
        root.Subcommands.Add(ServeCommand.Build(context));
        root.Subcommands.Add(TlsCommands.Build(context));
        root.Subcommands.Add(DomainCommands.Build(context));
        root.Subcommands.Add(UserCommands.Build(context));
        root.Subcommands.Add(AliasCommands.Build(context));
        root.Subcommands.Add(VacationCommands.Build(context));
        root.Subcommands.Add(ListCommands.Build(context));
        root.Subcommands.Add(NetworkCommands.BuildRelay(context));
        root.Subcommands.Add(NetworkCommands.BuildIpMap(context));
        root.Subcommands.Add(QueueCommands.Build(context));
        root.Subcommands.Add(SettingsCommands.Build(context));
        root.Subcommands.Add(BulletinCommand.Build(context));
        root.Subcommands.Add(StatsCommand.Build(context));
        root.Subcommands.Add(InstallCommand.Build(context));
        root.Subcommands.Add(DkimCommands.Build(context));
        root.Subcommands.Add(AccountsCommands.Build(context));
        root.Subcommands.Add(AccessCommands.BuildApiKey(context));
        root.Subcommands.Add(AccessCommands.BuildAdmin(context));
        root.Subcommands.Add(new Command("sendmail", "sendmail-compatible: send a message from standard input (-t, -f, -i, -bs, -bp; run 'mailward sendmail --help')"));
        foreach (var (name, summary) in VpopmailTools.Summaries)
            root.Subcommands.Add(new Command(name, $"vpopmail-compatible: {summary} (run '{name} -h' for its flags)"));
        return root;
    }

    /// <summary>
    /// Removes "--data DIR", "--data=DIR" and setting overrides "--Section:Key=value" wherever they
    /// stand, so they work the same for every command, including the vpopmail names.
    /// </summary>
    public static (List<string> Remaining, string? Data, List<string> Settings) ExtractGlobalOptions(IReadOnlyList<string> args)
    {
        var rest = new List<string>();
        var settings = new List<string>();
        string? data = null;
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--")
            {
                rest.AddRange(args.Skip(i));
                break;
            }
            if (a == "--data")
            {
                if (i + 1 >= args.Count)
                    throw new UsageException("--data needs a folder");
                data = args[++i];
            }
            else if (a.StartsWith("--data=", StringComparison.Ordinal))
                data = a[7..];
            else if (IsSettingOverride(a, out var key))
            {
                if (!a.Contains('=', StringComparison.Ordinal))
                    throw new UsageException($"setting override {a} needs a value: {a}=VALUE");
                if (!SettingsCatalog.IsKnownKey(key))
                    throw new UsageException($"unknown setting {key} (see docs/settings.md or 'mailward settings')");
                settings.Add(a);
            }
            else
                rest.Add(a);
        }
        return (rest, data, settings);
    }

    /// <summary>"--Section:Key=value", or "--Key=value" for a top-level setting such as Hostname.</summary>
    private static bool IsSettingOverride(string arg, out string key)
    {
        key = "";
        if (!arg.StartsWith("--", StringComparison.Ordinal))
            return false;
        var eq = arg.IndexOf('=', StringComparison.Ordinal);
        key = eq < 0 ? arg[2..] : arg[2..eq];
        return key.Contains(':', StringComparison.Ordinal) || (eq > 2 && SettingsCatalog.ByKey.ContainsKey(key));
    }

    /// <summary>The name the program was started as (argv[0]), so a link named vadduser acts as vadduser.</summary>
    public static string? InvokedName()
    {
        try
        {
            var cmdline = File.ReadAllBytes("/proc/self/cmdline");
            var end = Array.IndexOf(cmdline, (byte)0);
            var argv0 = System.Text.Encoding.UTF8.GetString(cmdline, 0, end < 0 ? cmdline.Length : end);
            return Path.GetFileName(argv0);
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>A command line that cannot be carried out as written (exit status 1).</summary>
public sealed class UsageException(string message) : Exception(message);
