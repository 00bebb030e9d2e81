// A real Mailward server in-process for socket tests: its own data folder, SQLite store, queue and
// Kestrel listeners on an ephemeral loopback port. Log lines are kept for assertions.
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Mailward.Core.Configuration;
using Mailward.Core.Queue;
using Mailward.Hosting;
using Mailward.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Mailward.Tests.Smtp;

public sealed class ServerFixture : IAsyncDisposable
{
    private readonly TempFolder _tmp = new();
    private MailServer? _server;

    public ConcurrentQueue<string> Log { get; } = new();
    public string DataPath => _tmp.Combine("data");

    /// <summary>A server that holds its queue (Delivery:Enabled=false) unless the settings say otherwise, so tests can inspect it.</summary>
    public static Task<ServerFixture> StartAsync(IEnumerable<string> fixtures, params string[] settings) =>
        StartAsync(fixtures, null, settings);

    /// <summary>As above, with a clock the test drives (retries, lifetimes, host back-off).</summary>
    public static async Task<ServerFixture> StartAsync(IEnumerable<string> fixtures, TimeProvider? time, params string[] settings)
    {
        if (!settings.Any(s => s.StartsWith("--Delivery:Enabled=", StringComparison.Ordinal)))
            settings = [.. settings, "--Delivery:Enabled=false"];
        // SPF asks DNS; tests stay on loopback (and their messages unchanged) unless they name a DNS server and a mode.
        if (!settings.Any(s => s.StartsWith("--Spf:Mode=", StringComparison.Ordinal)))
            settings = [.. settings, "--Spf:Mode=off"];
        if (!settings.Any(s => s.StartsWith("--Dkim:Verify=", StringComparison.Ordinal)))
            settings = [.. settings, "--Dkim:Verify=false"]; // DKIM keys are asked of DNS too
        if (!settings.Any(s => s.StartsWith("--Dmarc:Mode=", StringComparison.Ordinal)))
            settings = [.. settings, "--Dmarc:Mode=off"]; // it needs SPF and DKIM, and would say so at start
        // Strangers (127.0.0.9 and up) would wait Smtp:GreetDelayMilliseconds for every greeting; tests of the wait set it.
        if (!settings.Any(s => s.StartsWith("--Smtp:GreetDelayMilliseconds=", StringComparison.Ordinal)))
            settings = [.. settings, "--Smtp:GreetDelayMilliseconds=0"];
        var fx = new ServerFixture();
        var data = DataFolder.Open(fx.DataPath, [.. MailwardRunner.FastHashes.Select(s => s), "--Hostname=mail.test", "--Accounts:CacheCheckMilliseconds=0", "--Listen:Address=127.0.0.1", "--Smtp:Port=0", "--Pop3:Port=0", "--Pop3s:Port=0", "--Imap:Port=0", "--Imaps:Port=0", "--Admin:Port=0", "--Submission:Port=0", "--Smtps:Port=0", .. settings]);
        var store = new Mailward.Core.Accounts.SqliteAccountStore(data.Settings.AccountsConnectionString);
        var admin = new Mailward.Core.Admin.AccountAdmin(store,
            new Mailward.Core.MailStore.MailStoreLayout(data.Settings.MailStorePath), new Mailward.Core.Passwords.PasswordHasher(data.Settings.Passwords));
        var (extra, badMailFrom) = SmtpFixture.Apply(admin, store, fixtures);
        if (extra.Count > 0 || badMailFrom.Length > 0)
            data = DataFolder.Open(fx.DataPath, [.. MailwardRunner.FastHashes, "--Hostname=mail.test", "--Accounts:CacheCheckMilliseconds=0", "--Listen:Address=127.0.0.1", "--Smtp:Port=0", "--Pop3:Port=0", "--Pop3s:Port=0", "--Imap:Port=0", "--Imaps:Port=0", "--Admin:Port=0", "--Submission:Port=0", "--Smtps:Port=0",
                .. settings, .. extra.Select(e => "--" + e), $"--Smtp:BadMailFrom={badMailFrom}"]);
        fx._server = new MailServer(data, store, logging => logging.AddProvider(new ListLoggerProvider(fx.Log)), time);
        await fx._server.StartAsync();
        return fx;
    }

    public IPEndPoint Smtp => _server!.Endpoint("smtp");
    public IPEndPoint Pop3 => _server!.Endpoint("pop3");
    public IPEndPoint Submission => _server!.Endpoint("submission");
    public IPEndPoint Smtps => _server!.Endpoint("smtps");
    public IPEndPoint Pop3s => _server!.Endpoint("pop3s");
    public IPEndPoint Imap => _server!.Endpoint("imap");
    public IPEndPoint Imaps => _server!.Endpoint("imaps");
    public IPEndPoint Admin => _server!.Endpoint("admin");

    public QueueStore Queue => _server!.Services.GetRequiredService<QueueStore>();

    public IServiceProvider Services => _server!.Services;

    public Mailward.Core.Delivery.QueueManager Manager => _server!.Services.GetRequiredService<Mailward.Core.Delivery.QueueManager>();

    public IReadOnlyList<QueuedMessage> Messages => Queue.Messages.OrderBy(m => m.QueueId, StringComparer.Ordinal).ToList();

    /// <summary>A TCP connection from <paramref name="from"/> (a loopback address) to a listener, SMTP unless <paramref name="to"/> names another.</summary>
    public async Task<NetworkStream> ConnectAsync(string from = "127.0.0.1", IPEndPoint? to = null)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Parse(from), 0));
        await socket.ConnectAsync(to ?? Smtp);
        return new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Stops the server and keeps its data folder, for commands that run without it.</summary>
    public async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.StopAsync();
            await _server.DisposeAsync();
            _server = null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _tmp.Dispose();
    }

    private sealed class ListLoggerProvider(ConcurrentQueue<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);
        public void Dispose()
        {
        }

        private sealed class ListLogger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue(formatter(state, exception) + (exception is null ? "" : " " + exception));
        }
    }
}
