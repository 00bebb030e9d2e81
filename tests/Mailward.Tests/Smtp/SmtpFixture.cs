// A fresh mail server's parts for one SMTP test: data folder, SQLite account store, queue,
// policy and options, set up from a transcript's "@" lines.
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Core.Admin;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Mailward.Core.Routing;
using Mailward.Protocols.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Smtp;

public sealed class SmtpFixture : IAsyncDisposable
{
    private readonly TempFolder _tmp = new();

    public SmtpFixture(IEnumerable<string> fixtures)
    {
        Store = new SqliteAccountStore($"Data Source={_tmp.Combine("accounts.db")}");
        Admin = new AccountAdmin(Store, new MailStoreLayout(_tmp.Combine("domains")), new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 }));
        Queue = QueueStore.Open(_tmp.Combine("queue"));
        var (settings, badMailFrom) = Apply(Admin, Store, fixtures);
        foreach (var kv in settings.Select(x => x.Split('=', 2)))
            Options = kv[0] switch
            {
                "Smtp:MaxMessageBytes" => Options with { MaxMessageBytes = long.Parse(kv[1]) },
                "Smtp:MaxRecipients" => Options with { MaxRecipients = int.Parse(kv[1]) },
                "Smtp:MaxLineLength" => Options with { MaxLineLength = int.Parse(kv[1]) },
                "Smtp:MaxBadCommands" => Options with { MaxBadCommands = int.Parse(kv[1]) },
                "Smtp:MaxHops" => Options with { MaxHops = int.Parse(kv[1]) },
                "Smtp:CommandTimeoutSeconds" => Options with { CommandTimeout = TimeSpan.FromSeconds(double.Parse(kv[1])) },
                _ => throw new FormatException($"unknown @set {kv[0]}"),
            };
        Policy = new SmtpPolicy(Store, new RecipientResolver(Store), badMailFrom);
    }

    /// <summary>@mail's message (TEXT with \r \n escapes) written into a Maildir's new/ as delivery writes it; also the "! mail" event's.</summary>
    public static void WriteMail(string maildir, string address, string uniqueName, string text)
    {
        using var body = new MemoryStream(Transcript.Unescape(text));
        MaildirWriter.Deliver(maildir, uniqueName, "mail.test", "s@remote.test", address, body);
    }

    /// <summary>
    /// Applies a transcript's "@" lines to an account store and mail store; returns the settings
    /// they ask for ("Section:Key=value", the section of the protocol under test) and the
    /// badmailfrom list. Every user's password is "pw". The admin acts as the system; its calls
    /// complete synchronously (the SQLite store is synchronous), so waiting on them here is safe.
    /// </summary>
    public static (List<string> Settings, string BadMailFrom) Apply(AccountAdmin admin, IAccountStore store, IEnumerable<string> fixtures, string section = "Smtp")
    {
        var settings = new List<string>();
        var badMailFrom = "";
        var system = Actor.System;
        static void Wait(Task t) => t.GetAwaiter().GetResult();
        void EnsureDomain(string domain)
        {
            if (store.FindDomain(domain) is null)
                Wait(admin.AddDomainAsync(system, domain, new PasswordInput.Clear("pw")));
        }
        foreach (var f in fixtures)
        {
            var parts = f.Split(' ', 2);
            var arg = parts.Length > 1 ? parts[1].Trim() : "";
            switch (parts[0])
            {
                case "domain": EnsureDomain(arg); break;
                case "user":
                    EnsureDomain(arg[(arg.IndexOf('@', StringComparison.Ordinal) + 1)..]);
                    Wait(admin.AddUserAsync(system, arg, new PasswordInput.Clear("pw")));
                    break;
                case "alias":
                    var a = arg.Split(' ', 2);
                    Wait(admin.AddAliasLineAsync(system, a[0], a[1]));
                    break;
                case "aliasdomain":
                    var ad = arg.Split(' ');
                    Wait(admin.AddDomainAliasAsync(system, ad[0], ad[1]));
                    break;
                case "catchall":
                    var c = arg.Split(' ');
                    Wait(admin.SetCatchAllAsync(system, c[0], AccountAdmin.ParseCatchAll(c[1])));
                    break;
                case "relay":
                    var r = arg.Split(' ');
                    Wait(admin.SetRelayRuleAsync(system, r[1], r[0] == "allow" ? RelayAction.Allow : RelayAction.Deny, null));
                    break;
                case "flags":
                    var fl = arg.Split(' ');
                    Wait(admin.ModifyUserAsync(system, fl[0], new UserChange { Set = fl[1].Split(',').Aggregate(UserFlags.None, (all, n) => all | UserFlagNames.Parse(n)) }));
                    break;
                case "quota":
                    // @quota ADDRESS QUOTA: the user's Maildir++ quota, as `mailward user modify --quota` takes it ("10M", "1M,100C").
                    var q = arg.Split(' ', 2);
                    Wait(admin.ModifyUserAsync(system, q[0], new UserChange { Quota = Quota.Parse(q[1]) }));
                    break;
                case "mail":
                    // @mail ADDRESS UNIQUE-NAME TEXT: a message (TEXT with \r \n escapes) already in the mailbox.
                    var ml = arg.Split(' ', 3);
                    var to = MailAddress.Parse(ml[0]);
                    var owner = admin.GetUserAsync(system, ml[0]).GetAwaiter().GetResult();
                    WriteMail(owner.Maildir, ml[0], ml[1], ml[2]);
                    break;
                case "badmailfrom": badMailFrom = arg; break;
                case "set": settings.Add(section + ":" + arg); break;
                default: throw new FormatException($"unknown fixture @{f}");
            }
        }
        return (settings, badMailFrom);
    }

    public SqliteAccountStore Store { get; }
    public AccountAdmin Admin { get; }
    public QueueStore Queue { get; }
    public SmtpPolicy Policy { get; }
    public SmtpOptions Options { get; private set; } = new() { Hostname = "mail.test" };

    public List<QueuedMessage> Messages => Queue.Messages.OrderBy(m => m.QueueId, StringComparer.Ordinal).ToList();

    public static byte[] Body(QueuedMessage m)
    {
        using var s = QueueStore.OpenBody(m);
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    public async ValueTask DisposeAsync()
    {
        await Queue.DisposeAsync();
        Store.Dispose();
        _tmp.Dispose();
    }
}
