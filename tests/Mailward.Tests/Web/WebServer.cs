// A real server (ServerFixture: Kestrel, SQLite account store, the Admin listener on an ephemeral
// loopback port) with the accounts the web tests log in as: a system admin, the postmaster of
// a.test, a domain-admin-flagged user of a.test, plain users of a.test, b.test as the domain
// nobody from a.test may touch, an account granted a.test and c.test (an admin of two domains),
// and two API keys: one scoped to a.test, one read-only over the whole system.
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Tests.Smtp;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Tests.Web;

public class WebServer : IAsyncLifetime
{
    public const string Password = "Sesame-42";
    public const string SystemAdmin = "root@admin.test";
    public const string Postmaster = "postmaster@a.test";
    public const string FlaggedAdmin = "da@a.test";
    public const string User = "u1@a.test";
    public const string OtherUser = "u2@a.test";
    public const string NoWebmail = "nw@a.test";
    public const string NoPasswordChange = "npc@a.test";
    public const string Stranger = "v1@b.test";
    public const string MultiAdmin = "multi@admin.test";
    public const string SecondUser = "w1@c.test";

    public ServerFixture Server { get; private set; } = null!;

    /// <summary>Settings a fixture of this kind adds (DeliveringWebServer: delivery on).</summary>
    protected virtual string[] ExtraSettings => [];

    public AccountAdmin Admin => Server.Services.GetRequiredService<AccountAdmin>();

    public IAccountStore Store => Server.Services.GetRequiredService<IAccountStore>();

    /// <summary>Extra settings for a fixture of its own (a subclass or a test that starts one).</summary>
    public static async Task<ServerFixture> StartAsync(TimeProvider? time = null, params string[] settings)
    {
        var server = await ServerFixture.StartAsync([], time, ["--Admin:FailedLoginDelayMilliseconds=0", .. settings]);
        var admin = server.Services.GetRequiredService<AccountAdmin>();
        var pw = new PasswordInput.Clear(Password);
        await admin.AddDomainAsync(Actor.System, "admin.test", pw, createPostmaster: true);
        await admin.AddUserAsync(Actor.System, SystemAdmin, pw, flags: UserFlags.SystemAdmin);
        await admin.AddDomainAsync(Actor.System, "a.test", pw);
        await admin.SetLimitsAsync(Actor.System, "a.test", DomainLimits.None with { DomainQuota = Quota.Parse("100M") });
        await admin.AddUserAsync(Actor.System, FlaggedAdmin, pw, flags: UserFlags.DomainAdmin);
        await admin.AddUserAsync(Actor.System, User, pw, "User One");
        await admin.AddUserAsync(Actor.System, OtherUser, pw);
        await admin.AddUserAsync(Actor.System, NoWebmail, pw, flags: UserFlags.NoWebmail);
        await admin.AddUserAsync(Actor.System, NoPasswordChange, pw, flags: UserFlags.NoPasswordChange);
        await admin.AddDomainAsync(Actor.System, "b.test", pw);
        await admin.AddUserAsync(Actor.System, Stranger, pw);
        await admin.AddDomainAsync(Actor.System, "c.test", pw);
        await admin.AddUserAsync(Actor.System, SecondUser, pw);
        await admin.AddUserAsync(Actor.System, MultiAdmin, pw);
        await admin.GrantAdminAsync(Actor.System, MultiAdmin, "a.test");
        await admin.GrantAdminAsync(Actor.System, MultiAdmin, "c.test");
        return server;
    }

    public WebClient Client(string from = "127.0.0.1") => new(Server.Admin, from);

    public async Task<WebClient> LoggedInAsync(string address, string password = Password)
    {
        var c = Client();
        await c.LoginOkAsync(address, password);
        return c;
    }

    /// <summary>The token of a read-write key scoped to a.test.</summary>
    public string KeyA { get; private set; } = "";

    /// <summary>The token of a read-only key scoped to the whole system.</summary>
    public string ReadOnlyKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        Server = await StartAsync(null, ExtraSettings);
        KeyA = (await Admin.AddApiKeyAsync(Actor.System, "key-a", ["a.test"], readOnly: false)).Token;
        ReadOnlyKey = (await Admin.AddApiKeyAsync(Actor.System, "key-ro", null, readOnly: true)).Token;
    }

    /// <summary>A client that sends an API key on every request (and has no session).</summary>
    public WebClient KeyClient(string token)
    {
        var c = Client();
        c.DefaultHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        return c;
    }

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The same accounts with delivery on (ServerFixture turns it off): mail sent is delivered, forwards go out.</summary>
public sealed class DeliveringWebServer : WebServer
{
    protected override string[] ExtraSettings => ["--Delivery:Enabled=true"];
}
