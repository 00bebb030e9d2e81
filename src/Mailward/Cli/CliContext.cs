// What a command runs with: the console it talks to, the global options (--data, settings
// overrides) and, opened on first use, the data folder, the admin operations over it (the command
// line acts as Actor.System) and the login service that checks passwords (vchangepw).
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.Configuration;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;

namespace Mailward.Cli;

/// <param name="OutputIsTerminal">Standard output is a terminal: progress bars may be drawn (mailward bulletin).</param>
public sealed record CliConsole(TextReader In, TextWriter Out, TextWriter Error, bool InputRedirected, bool OutputIsTerminal = false)
{
    /// <summary>Standard input as bytes (sendmail reads 8-bit messages); null: In's text, as UTF-8.</summary>
    public Func<Stream>? OpenInput { get; init; }
}

public sealed class CliContext(CliConsole console, string? dataOption, IReadOnlyList<string> settingArgs) : IDisposable
{
    private DataFolder? _data;
    private SqlAccountStore? _store;
    private AccountAdmin? _admin;
    private LoginService? _logins;

    public CliConsole Console { get; } = console;
    public TextWriter Out => Console.Out;
    public TextWriter Error => Console.Error;
    public string? DataOption { get; } = dataOption;
    public IReadOnlyList<string> SettingArgs { get; } = settingArgs;

    public DataFolder Data => _data ??= OpenData();

    /// <summary>Exit statuses of the queue commands (README, "Exit status").</summary>
    public const int ExitNotQueued = 40, ExitNoServer = 41, ExitQueueDamaged = 42;

    public int Done(string message)
    {
        Out.WriteLine(message);
        return 0;
    }

    public int Fail(string message, int exitCode)
    {
        Error.WriteLine($"mailward: {message}");
        return exitCode;
    }

    /// <summary>Who the commands act as: the system (whoever runs them can read the account store's file).</summary>
    public Actor Actor => Actor.System;

    public AccountAdmin Admin
    {
        get
        {
            if (_admin is not null)
                return _admin;
            var s = Data.Settings;
            _admin = new AccountAdmin(Accounts, Layout, new PasswordHasher(s.Passwords), s.StoreClearText)
            {
                Autoresponders = Core.Autoresponder.AutoresponderOptions.Limits(s),
                ApiKeys = ApiKeyLimits.From(s),
            };
            // Finish what an interrupted earlier command left (docs/mail-store.md).
            _admin.RecoverFolders();
            return _admin;
        }
    }

    /// <summary>Password checks (vchangepw's old password): the same throttled path as the mail protocols.</summary>
    public LoginService Logins => _logins ??= new LoginService(Accounts, new PasswordHasher(Data.Settings.Passwords), Data.Settings.Login);

    private MailStoreLayout Layout => new(Data.Settings.MailStorePath, Data.Settings.MaxDirectoryEntries);

    /// <summary>The account store itself, for the server's hot path only (MailwardHost); commands use Admin.</summary>
    internal SqlAccountStore AccountStore => Accounts;

    private SqlAccountStore Accounts
    {
        get
        {
            var s = Data.Settings;
            return _store ??= AccountStores.Open(s); // commands read the store itself: no cache
        }
    }

    private DataFolder OpenData()
    {
        var data = DataFolder.Open(DataOption, SettingArgs);
        data.Settings.Validate();
        return data;
    }

    /// <summary>
    /// A password from standard input: one line when input is redirected (scripts), otherwise asked
    /// twice without echo, as vpopmail's tools do.
    /// </summary>
    public string ReadPassword(string prompt = "Please enter password: ")
    {
        if (Console.InputRedirected)
            return Console.In.ReadLine() ?? throw new Core.Accounts.AccountException(AccountError.InvalidArgument, "no password given on standard input");
        var first = ReadHidden(prompt);
        var second = ReadHidden("enter password again: ");
        return first == second ? first : throw new AccountException(AccountError.PasswordMismatch, "passwords do not match");
    }

    private string ReadHidden(string prompt)
    {
        Error.Write(prompt);
        var sb = new System.Text.StringBuilder();
        while (true)
        {
            var key = System.Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
                break;
            if (key.Key == ConsoleKey.Backspace && sb.Length > 0)
                sb.Length--;
            else if (!char.IsControl(key.KeyChar))
                sb.Append(key.KeyChar);
        }
        Error.WriteLine();
        return sb.ToString();
    }

    public void Dispose() => _store?.Dispose();
}
