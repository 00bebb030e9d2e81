// A fresh mail server's parts for one SMTP test: data folder, SQLite account store, queue,
// policy and options, set up from a transcript's "@" lines.
using Mailward.Core.Accounts;
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
        Store = new SqliteAccountStore($"Data Source={_tmp.Combine("accounts.db")}", cacheCheckMilliseconds: 0);
        Admin = new AccountAdmin(Store, new MailStoreLayout(_tmp.Combine("domains")), new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 }));
        Queue = QueueStore.Open(_tmp.Combine("queue"));
        var badMailFrom = "";
        foreach (var f in fixtures)
        {
            var parts = f.Split(' ', 2);
            var arg = parts.Length > 1 ? parts[1].Trim() : "";
            switch (parts[0])
            {
                case "domain": EnsureDomain(arg); break;
                case "user":
                    EnsureDomain(arg[(arg.IndexOf('@', StringComparison.Ordinal) + 1)..]);
                    Admin.AddUser(arg, new PasswordInput.Clear("pw"));
                    break;
                case "alias":
                    var a = arg.Split(' ', 2);
                    Admin.AddAliasLine(a[0], a[1]);
                    break;
                case "aliasdomain":
                    var ad = arg.Split(' ');
                    Admin.AddDomainAlias(ad[0], ad[1]);
                    break;
                case "catchall":
                    var c = arg.Split(' ');
                    Admin.SetCatchAll(c[0], AccountAdmin.ParseCatchAll(c[1]));
                    break;
                case "relay":
                    var r = arg.Split(' ');
                    Admin.SetRelayRule(r[1], r[0] == "allow" ? RelayAction.Allow : RelayAction.Deny, null);
                    break;
                case "badmailfrom": badMailFrom = arg; break;
                case "set":
                    var kv = arg.Split('=', 2);
                    Options = kv[0] switch
                    {
                        "MaxMessageBytes" => Options with { MaxMessageBytes = long.Parse(kv[1]) },
                        "MaxRecipients" => Options with { MaxRecipients = int.Parse(kv[1]) },
                        "MaxLineLength" => Options with { MaxLineLength = int.Parse(kv[1]) },
                        "MaxBadCommands" => Options with { MaxBadCommands = int.Parse(kv[1]) },
                        "MaxHops" => Options with { MaxHops = int.Parse(kv[1]) },
                        "CommandTimeoutSeconds" => Options with { CommandTimeout = TimeSpan.FromSeconds(double.Parse(kv[1])) },
                        _ => throw new FormatException($"unknown @set {kv[0]}"),
                    };
                    break;
                default: throw new FormatException($"unknown fixture @{f}");
            }
        }
        Policy = new SmtpPolicy(Store, new RecipientResolver(Store), badMailFrom);
    }

    private void EnsureDomain(string domain)
    {
        if (Store.FindDomain(domain) is null)
            Admin.AddDomain(domain, new PasswordInput.Clear("pw"));
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
