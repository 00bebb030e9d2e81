// Opens the account store the settings name: Accounts:Provider sqlite (the default: a file in the
// data folder) or postgres (Accounts:ConnectionString, shared by several nodes).
using Mailward.Core.Accounts.Postgres;
using Mailward.Core.Configuration;

namespace Mailward.Core.Accounts;

public static class AccountStores
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    public static SqlAccountStore Open(MailwardSettings settings, TimeProvider? time = null) => settings.AccountsProvider switch
    {
        Postgres => new PostgresAccountStore(settings.AccountsConnectionString, time),
        _ => new SqliteAccountStore(settings.AccountsConnectionString, time),
    };
}
