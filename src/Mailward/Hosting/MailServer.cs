// Composes the running server: settings, logging, account store, queue, policy, TLS and the
// listeners on Kestrel's connection hosting. The account store goes to the hot path (policy,
// delivery, logins); admin reads and writes go through AccountAdmin, never to the store.
// `mailward serve` runs it until a signal; tests start
// it in-process on ephemeral loopback ports. Stopping stops accepting, ends sessions (421) and
// closes the queue after its last commit.
using System.Net;
using System.Runtime.InteropServices;
using DnsClient;
using Mailward.Core.Accounts;
using Mailward.Core.Accounts.Cache;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.Autoresponder;
using Mailward.Core.Configuration;
using Mailward.Core.Delivery;
using Mailward.Core.Delivery.Remote;
using Mailward.Core.Dkim;
using Mailward.Core.Dmarc;
using Mailward.Core.Dnsbl;
using Mailward.Core.Lists;
using Mailward.Core.Logging;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Locks;
using Mailward.Core.MailStore.Maildir;
using Mailward.Core.MailStore.Quotas;
using Mailward.Core.Metrics;
using Mailward.Core.Passwords;
using Mailward.Core.Policy;
using Mailward.Core.PolicyDns;
using Mailward.Core.Posix;
using Mailward.Core.Queue;
using Mailward.Core.Routing;
using Mailward.Core.Sendmail;
using Mailward.Core.Spf;
using Mailward.Protocols.Hosting;
using Mailward.Protocols.Imap;
using Mailward.Protocols.Pop3;
using Mailward.Protocols.Smtp;
using Mailward.Protocols.Tls;
using Mailward.Sendmail;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Mailward.Hosting;

public sealed partial class MailServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly List<(string Name, Func<IPEndPoint?> Bound)> _listeners = [];
    private readonly StreamListeners _streamListeners = new(); // the IMAP listeners, served without Kestrel (StreamListeners)

    /// <summary>A server over <paramref name="accounts"/>, which the caller opened and disposes after the server.</summary>
    public MailServer(DataFolder data, IAccountStore accounts, Action<ILoggingBuilder>? logging = null, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var settings = data.Settings;
        // Before the queue and the store are opened: a local user must not get at them (postfix check).
        var modeFindings = DataFolderModes.Check(settings);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(settings.LogLevel));
        // The web host's "Now listening on: http://..." would call a mail port HTTP; each listener
        // is logged by its protocol instead (ListenersBound). Its other lines are off already.
        builder.Logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        // ASP.NET Core's four information lines per HTTP request would fill the log with a scraper's
        // /metrics every few seconds; what the admin pages change is in the admin audit (5100).
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        if (logging is null && settings.LogTarget != "file")
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            });
            // Wrapped so the factory keeps no scopes for it: none is printed, and each would be held by a connection.
            var console = builder.Services.Single(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider));
            builder.Services.Remove(console);
            builder.Services.AddSingleton<ConsoleLoggerProvider>();
            builder.Services.AddSingleton<ILoggerProvider>(sp => new ScopelessLoggerProvider(sp.GetRequiredService<ConsoleLoggerProvider>()));
        }
        else
            logging?.Invoke(builder.Logging);
        // Daily files in the data folder that `mailward stats` reads (docs/log-format.md); the
        // factory disposes the provider after the host, so the last lines are written.
        if (settings.LogTarget != "stdout")
            builder.Logging.AddProvider(new LogFileProvider(new LogFileWriter(settings.LogPath, settings.LogRetentionDays, settings.LogBufferLines, time), time));
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        builder.Services.AddSingleton(data);
        var layout = new MailStoreLayout(settings.MailStorePath, settings.MaxDirectoryEntries);
        var hasher = new PasswordHasher(settings.Passwords);
        builder.Services.AddSingleton(accounts);
        builder.Services.AddSingleton(sp => new AccountAdmin(accounts, layout, hasher, settings.StoreClearText, time,
            new LoggingAdminAudit(sp.GetRequiredService<ILogger<AccountAdmin>>()))
        {
            Autoresponders = AutoresponderOptions.Limits(settings),
            ListOptions = ListOptions.From(settings),
            ApiKeys = ApiKeyLimits.From(settings),
            TotpSkewSteps = settings.GetInt("Admin:TotpSkewSteps", 0, 10),
        });
        // Every lookup of the server goes through one bounded cache in front of the provider.
        var directory = CachedAccountDirectory.Over(new MeasuredAccountDirectory<IAccountStore>(accounts), settings.AccountCache, time);
        builder.Services.AddSingleton<IAccountDirectory>(directory);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton(_ => QueueStore.Open(settings.QueuePath, settings.Queue, time));
        var roaming = new RoamingRelay(accounts, TimeSpan.FromMinutes(settings.GetInt("Relay:RoamingMinutes", 0, 525_600)), time);
        builder.Services.AddSingleton(roaming);
        // The door's sender checks (DNS lists, SPF, DKIM; docs/mail-auth.md) in front of the relay and recipient policy.
        var policyDns = new PolicyDnsResolver(PolicyDnsOptions.From(settings), time);
        // Mailing lists (docs/lists.md): recognised at RCPT and in delivery by their folders.
        var listOptions = ListOptions.From(settings);
        var lists = new ListDirectory(layout);
        IListLookup? listLookup = listOptions.Enabled ? lists : null;
        // One-click unsubscribe (RFC 8058): each copy's List-Unsubscribe at delivery, and the admin listener's /lists/unsubscribe.
        if (listOptions.Enabled)
            builder.Services.AddSingleton(sp => new ListOneClick(lists, directory, listOptions, sp.GetRequiredService<ILogger<ListOneClick>>()));
        var dnsbl = DnsblOptions.From(settings);
        var spf = SpfOptions.From(settings);
        var dkimOptions = DkimOptions.From(settings);
        var (dmarc, dmarcMode, dmarcProblem) = DmarcFor(DmarcOptions.From(settings), spf, dkimOptions, policyDns);
        builder.Services.AddSingleton(sp => new MailAuthPolicy(new SmtpPolicy(accounts,
            new RecipientResolver(directory, settings.ExtensionSeparators, listLookup), settings.Get("Smtp:BadMailFrom"), time, roaming,
            layout, new FreeSpaceGuard([settings.QueuePath, settings.MailStorePath], settings.MinFreeBytes, time)),
            dnsbl.Enabled ? new DnsblChecker(policyDns, dnsbl) : null,
            spf.Mode == SpfMode.Off ? null : new SpfChecker(policyDns, spf, settings.Hostname, time), sp.GetRequiredService<ILogger<MailAuthPolicy>>(),
            dkim: dkimOptions.Verify ? new DkimMessageVerifier(new DkimKeyLocator(policyDns), dkimOptions, time) : null, dmarc, dmarcMode));
        // The per-client limits (rates, the greet wait; docs/mail-auth.md) in front of every other check.
        builder.Services.AddSingleton<ISmtpPolicy>(sp => Mailward.Core.RateLimit.DoorPolicies.Compose(sp.GetRequiredService<MailAuthPolicy>(), settings, accounts, time, sp.GetRequiredService<ILoggerFactory>()));
        builder.Services.AddSingleton(_ => TlsCertificates.Load(settings.TlsCertificateFile, settings.TlsKeyFile, data.Path, settings.Hostname));
        var events = new MailboxEvents();
        builder.Services.AddSingleton(events);
        builder.Services.AddSingleton(sp => new LocalDelivery(accounts, new RecipientResolver(directory, settings.ExtensionSeparators, listLookup),
            layout, sp.GetRequiredService<QueueStore>(),
            new LocalDeliveryOptions(settings.Hostname)
            {
                NodeId = settings.NodeId,
                Events = events,
                ProgramDomains = settings.ProgramDomains,
                ProgramTimeout = settings.ProgramTimeout,
                AllowedExternalPaths = settings.AllowedExternalPaths,
                RecipientFields = sp.GetService<ListOneClick>(),
            }, time, new AutoresponderAgent(accounts, sp.GetRequiredService<QueueStore>(), settings.Hostname, AutoresponderOptions.From(settings), time,
                sp.GetRequiredService<ILogger<AutoresponderAgent>>()),
            sp.GetService<ListAgent>()));
        if (listOptions.Enabled)
        {
            builder.Services.AddSingleton(sp => new ListAgent(lists, sp.GetRequiredService<QueueStore>(), settings.Hostname, listOptions, time,
                sp.GetRequiredService<ILogger<ListAgent>>(), ListDmarcLookup.Create(policyDns, DmarcOptions.From(settings).PublicSuffixList)));
        }
        var remote = settings.Remote;
        var dnsServers = settings.DnsServers;
        var dnsOptions = dnsServers.Count > 0 ? new LookupClientOptions([.. dnsServers]) : new LookupClientOptions();
        dnsOptions.UseCache = true;
        dnsOptions.Timeout = TimeSpan.FromSeconds(10);
        dnsOptions.Retries = 2;
        builder.Services.AddSingleton(sp => new RemoteDelivery(
            new MxResolver(new LookupClient(dnsOptions), new TargetGuard(settings.AllowPrivateTargets, time), remote.MaxMxAddresses),
            new HostBackoff(time, settings.MaxHostBackoff), new SmtpRelayClient(remote, settings.Hostname), remote.MaxMxSessions,
            settings.GetBool("Dkim:Sign") ? new DkimDeliverySigning(new DkimMessageSigner(DkimKeyStore.For(settings), dkimOptions.MaxHeaderBytes),
                sp.GetRequiredService<ILogger<DkimDeliverySigning>>(),
                settings.Get("Arc:SealDomain") is { Length: > 0 } sealDomain
                    ? new ArcSealer(DkimKeyStore.For(settings), DkimKeyStore.NormalizeDomain(sealDomain), settings.Hostname, new DkimKeyLocator(policyDns), dkimOptions.MaxHeaderBytes)
                    : null) : null)
        {
            // MTA-STS and the routes that require TLS (docs/mail-auth.md).
            Tls = Mailward.Core.MtaSts.MtaStsSetup.Rules(settings, data.Path, policyDns, time, sp.GetRequiredService<ILoggerFactory>()),
            RecipientFields = sp.GetService<ListOneClick>(),
        });
        builder.Services.AddSingleton(sp => new QueueManager(sp.GetRequiredService<QueueStore>(), sp.GetRequiredService<LocalDelivery>(),
            sp.GetRequiredService<RemoteDelivery>(), settings.RemoteRoutes, settings.Delivery, sp.GetRequiredService<ILogger<QueueManager>>(), time));
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton<IMailStore>(_ => new MaildirStore(layout, settings.NodeId, settings.Hostname, time, events,
            new MaildirStoreOptions
            {
                ExpungeHistory = settings.ExpungeHistory,
                ListingCacheMessages = settings.GetInt("MailStore:ListingCacheMessages", 0, 100_000_000),
                WatchFolders = settings.GetBool("MailStore:WatchFolders"),
                MaxAppendBytes = settings.GetLong("Imap:AppendLimitBytes", 1024, long.MaxValue), // the store's backstop for the session's APPENDLIMIT
                Quotas = new AccountOwnerQuotas(directory, accounts, layout, time),
            })
        {
            StructureLimits = new(settings.GetInt("Imap:MaxMimeDepth", 1, 1000), settings.GetInt("Imap:MaxMimeParts", 1, 1_000_000),
                settings.GetInt("Imap:MaxMimeParameters", 1, 10_000), settings.GetInt("Imap:MaxEnvelopeAddresses", 1, 1_000_000)),
        });
        // Nodes on one PostgreSQL store lock mailboxes there (freed at once with a killed node's connection); one node locks in the Maildir.
        builder.Services.AddSingleton<IMailboxLocks>(_ => accounts is IClusterLocks cluster
            ? new ClusterMailboxLocks(cluster)
            : new MaildirLocks(layout, ProcessIdentity.Current(settings.NodeId), time));
        builder.Services.AddSingleton(_ => new LoginService(accounts, hasher, settings.Login, time, roaming, directory));
        // One call per protocol: its settings, its services, its listeners.
        builder.Services.AddSingleton(events);
        List<MailListener> listeners =
        [
            .. builder.Services.AddMailProtocol<SmtpProtocol>(settings), .. builder.Services.AddMailProtocol<Pop3Protocol>(settings),
            .. builder.Services.AddMailProtocol<ImapProtocol>(settings),
        ];
        // The web admin and API: its own listener on the same host (HTTP, not a connection handler).
        var admin = builder.Services.AddAdminWeb(settings);
        // What mail client autoconfiguration names: the listeners as bound (read at each request).
        builder.Services.AddSingleton(new Mailward.Web.Autoconfig.MailListeners(() => _listeners.Select(l => (l.Name, l.Bound()))));
        _ = MailwardMetrics.Registry; // the metrics' one-time set-up here, not in the first session or delivery
        builder.Services.AddSingleton(sp => new ServerHealth(settings.QueuePath, settings.MailStorePath, () => sp.GetRequiredService<QueueStore>().Accepting, ListenersProblem));
        builder.Services.AddHostedService<LifecycleService>();
        // sendmail's way in (docs/pickup-format.md): the control socket's submissions and the pickup
        // folder, drained before the delivery loop starts (so registered before it).
        builder.Services.AddSingleton(sp => new SendmailIntake(sp.GetRequiredService<QueueStore>(), SendmailSettings.From(settings, Libc.EffectiveUserId),
            new RecipientResolver(directory, settings.ExtensionSeparators, listLookup), new FreeSpaceGuard([settings.QueuePath, settings.MailStorePath], settings.MinFreeBytes, time)));
        builder.Services.AddSingleton(sp => new PickupDrain(PickupFolder.In(data.Path), sp.GetRequiredService<SendmailIntake>(),
            PickupRecord.MaxPayload(settings.GetInt("Smtp:MaxMessageBytes", 1, int.MaxValue)), Libc.EffectiveUserId, sp.GetRequiredService<ILogger<PickupDrain>>(), time));
        builder.Services.AddHostedService(sp => new PickupService(sp.GetRequiredService<PickupDrain>(), sp.GetRequiredService<QueueStore>(),
            SendmailSettings.PickupScan(settings), sp.GetRequiredService<ILogger<PickupService>>()));
        // The submission socket: the one door open to every local user (docs/pickup-format.md).
        string? submitProblem = null;
        var submitSocket = settings.GetBool("Sendmail:SubmitSocket") ? Sendmail.SubmitSocket.Prepare(data.Path, out submitProblem) : null;
        if (submitSocket is not null)
        {
            builder.Services.AddSingleton(new Sendmail.SubmitLimits(settings.GetInt("Sendmail:MaxConnectionsPerUser", 1, 10_000)));
            builder.Services.AddHostedService(_ => new Sendmail.SubmitSocketOpener(submitSocket));
        }
        if (settings.GetBool("Delivery:Enabled"))
            builder.Services.AddHostedService<DeliveryService>();
        // Digests by time for lists nobody posts to (docs/lists.md, "Digests"): one node of the cluster looks at a time; after the queue is open.
        if (listOptions.Enabled)
            builder.Services.AddHostedService(sp => new BackgroundLoop(new ListDigestTimer(sp.GetRequiredService<ListAgent>(), accounts, listOptions, time,
                sp.GetRequiredService<ILogger<ListDigestTimer>>()).RunAsync));
        // Bounce warnings and probes for lists nobody posts to (docs/lists.md, "Bounces"): likewise one node at a time.
        // AddSingleton, not AddHostedService: that one keeps one service per implementation type, and the
        // digest timer's BackgroundLoop is registered already (this loop would be dropped without a word).
        if (listOptions.Enabled)
            builder.Services.AddSingleton<IHostedService>(sp => new BackgroundLoop(new ListBounceTimer(sp.GetRequiredService<ListAgent>(), accounts, listOptions, time,
                sp.GetRequiredService<ILogger<ListBounceTimer>>()).RunAsync));

        var enabled = listeners.Where(l => settings.GetBool(l.Section + ":Enabled")).ToList();
        // The IMAP listeners: bound and served by a hosted service of their own (StreamListeners), not Kestrel.
        foreach (var listener in enabled.Where(l => l.Streams))
        {
            var bound = _streamListeners.Add(listener.Name, settings.ListenAddress, settings.GetInt(listener.Section + ":Port", 0, 65535), listener.Serve);
            _listeners.Add((listener.Name, () => bound.Bound));
        }
        _streamListeners.Linger = new ReplyLinger(settings.GetInt("Imap:ReplyLingerMicroseconds", 0, 1_000_000), settings.GetInt("Imap:MaxLingeringSessions", 0, 10_000));
        _streamListeners.ReservedDescriptors = settings.GetInt("Imap:ReservedDescriptors", 0, 1_000_000);
        builder.Services.AddSingleton(_streamListeners);
        builder.Services.AddHostedService(sp =>
        {
            _streamListeners.Services = sp;
            return _streamListeners;
        });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            foreach (var listener in enabled.Where(l => !l.Streams))
                Listen(k, listener.Name, settings.ListenAddress, settings.GetInt(listener.Section + ":Port", 0, 65535), l => l.Run(listener.Serve(l.ApplicationServices)));
            if (admin.Enabled)
            {
                k.Limits.MaxRequestBodySize = admin.MaxRequestBytes;
                Listen(k, "admin", admin.Address, admin.Port, l => AdminWeb.ConfigureListener(l, admin, () => k.ApplicationServices.GetRequiredService<TlsCertificates>().Certificate));
            }
            k.ListenUnixSocket(PrepareControlSocket(data.Path), l => l.UseConnectionHandler<Control.ControlConnectionHandler>());
            if (submitSocket is not null)
                k.ListenUnixSocket(submitSocket, l => l.UseConnectionHandler<Sendmail.SubmitConnectionHandler>());
        });
        _app = builder.Build();
        // The PostgreSQL store hears of other nodes' writes on a connection of its own: its lines go to the server's log.
        if (accounts is Core.Accounts.Postgres.PostgresAccountStore shared)
            shared.Logger = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Mailward.Accounts");
        if (admin.Enabled)
            _app.MapAdminWeb();
        var log = _app.Services.GetRequiredService<ILogger<MailServer>>();
        foreach (var finding in modeFindings)
            FileModeFinding(log, finding);
        if (submitProblem is not null)
            FileModeFinding(log, submitProblem);
        if (dmarcProblem is not null)
            DmarcNotEvaluated(log, dmarcProblem);
        _app.Lifetime.ApplicationStarted.Register(() => ListenersBound(log));
    }

    /// <summary>One line per bound listener, named by its protocol (the real port when 0 was asked for).</summary>
    private void ListenersBound(ILogger log)
    {
        foreach (var (name, bound) in _listeners)
        {
            var protocol = name.ToUpperInvariant();
            var endpoint = bound()?.ToString() ?? name;
            Listening(log, protocol, endpoint);
        }
    }

    /// <summary>For /healthz: null while the host runs and every enabled listener is bound; else what is wrong.</summary>
    private string? ListenersProblem()
    {
        var lifetime = _app.Lifetime;
        if (lifetime.ApplicationStopping.IsCancellationRequested)
            return "the server is stopping";
        if (!lifetime.ApplicationStarted.IsCancellationRequested)
            return "the server has not started yet";
        var unbound = _listeners.Where(l => l.Bound() is not { Port: > 0 }).Select(l => l.Name).ToList();
        return unbound.Count == 0 ? null : "not bound: " + string.Join(", ", unbound);
    }

    /// <summary>DMARC's checker, or why there is none although Dmarc:Mode asks for one (it needs SPF's and DKIM's results and the suffix list).</summary>
    private static (DmarcChecker? Checker, DmarcMode Mode, string? Problem) DmarcFor(DmarcOptions options, SpfOptions spf, DkimOptions dkim, IPolicyDns dns)
    {
        if (options.Mode == DmarcMode.Off)
            return (null, DmarcMode.Off, null);
        if (spf.Mode == SpfMode.Off || !dkim.Verify)
            return (null, DmarcMode.Off, "DMARC is not evaluated: it needs Spf:Mode other than off and Dkim:Verify=true");
        try
        {
            return (new DmarcChecker(dns, PublicSuffixList.Load(options.PublicSuffixList)), options.Mode, null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return (null, DmarcMode.Off, $"DMARC is not evaluated: the public suffix list {options.PublicSuffixList} cannot be read ({e.Message}); install Debian's publicsuffix or set Dmarc:PublicSuffixList");
        }
    }

    [LoggerMessage(EventId = 2407, Level = LogLevel.Warning, Message = "{Problem}")]
    private static partial void DmarcNotEvaluated(ILogger logger, string problem);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Information, Message = "{Protocol} listening on {Endpoint}")]
    private static partial void Listening(ILogger logger, string protocol, string endpoint);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "file modes: {Finding}")]
    private static partial void FileModeFinding(ILogger logger, string finding);

    private void Listen(KestrelServerOptions k, string name, string address, int port, Action<ListenOptions> configure)
    {
        void Add(ListenOptions l)
        {
            configure(l);
            _listeners.Add((name, () => l.IPEndPoint));
        }
        if (address == "*")
            k.ListenAnyIP(port, Add);
        else
            k.Listen(IPAddress.Parse(address), port, Add);
    }

    /// <summary>
    /// The control socket's path, its folder made owner-only. A socket file nobody answers on is
    /// left over from a killed server and removed; a live one belongs to a running server, which
    /// also holds the queue's lock, so this one will not start.
    /// </summary>
    private static string PrepareControlSocket(string dataPath)
    {
        var path = Control.ControlChannel.SocketPath(dataPath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        Sendmail.SubmitSocket.RemoveStale(path);
        return path;
    }

    public IServiceProvider Services => _app.Services;

    /// <summary>Where a listener is bound, with the real port when 0 was asked for.</summary>
    public IPEndPoint Endpoint(string name) => _listeners.First(l => l.Name == name).Bound()!;

    public Task StartAsync(CancellationToken ct = default) => _app.StartAsync(ct);

    public Task StopAsync(CancellationToken ct = default) => _app.StopAsync(ct);

    public Task RunAsync(CancellationToken ct = default) => _app.RunAsync(ct);

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
    }

    /// <summary>Runs the queue manager beside the listeners; on stop, lets deliveries in flight finish.</summary>
    private sealed class DeliveryService(QueueManager manager) : IHostedService, IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _run = Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _run = Task.Run(() => manager.RunAsync(_stop.Token), CancellationToken.None);
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _stop.CancelAsync();
            await _run.WaitAsync(cancellationToken);
        }

        public void Dispose() => _stop.Dispose();
    }

    /// <summary>A loop beside the listeners (the list digest timer): started with the host, cancelled and awaited when it stops.</summary>
    private sealed class BackgroundLoop(Func<CancellationToken, Task> run) : IHostedService, IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private Task _run = Task.CompletedTask;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _run = run(_stop.Token); // its timer is made before this returns: a driven clock's first step is not missed
            return Task.CompletedTask;
        }

        public async Task StopAsync(CancellationToken cancellationToken)
        {
            await _stop.CancelAsync();
            await _run.WaitAsync(cancellationToken);
        }

        public void Dispose() => _stop.Dispose();
    }

    /// <summary>Opens what the services need before the listeners accept, logs ready, and closes the queue last.</summary>
    private sealed partial class LifecycleService(DataFolder data, AccountAdmin admin, QueueStore queue, TlsCertificates tls,
        IHostApplicationLifetime lifetime, Microsoft.AspNetCore.Hosting.Server.IServer server, ILogger<MailServer> log) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            // New certificates without a restart: a changed file is seen within Tls:ReloadCheckSeconds, SIGHUP at once.
            tls.Reloaded += (ok, detail) =>
            {
                if (ok)
                    CertificateReloaded(log, detail);
                else
                    CertificateReloadFailed(log, detail);
            };
            tls.WatchFiles(TimeSpan.FromSeconds(data.Settings.GetInt("Tls:ReloadCheckSeconds", 0, 86400)));
            // Started under nohup, the server would inherit SIGHUP ignored and never see it.
            Core.Posix.Libc.UnignoreSignal(Core.Posix.Libc.SigHup);
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // SIGHUP reloads; it does not stop the server
                tls.Reload();
            });
            var recovered = admin.RecoverFolders();
            var domains = (await admin.ListDomainsAsync(Actor.System)).Count;
            var queued = queue.Messages.Count;
            foreach (var error in queue.RecoveryErrors)
                QueueRecoveryError(log, error);
            foreach (var note in queue.RecoveryNotes)
                QueueRecoveryNote(log, note);
            // "ready" only once every listener is bound, so whoever waits for it can connect.
            lifetime.ApplicationStarted.Register(() =>
            {
                var addresses = server.Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses ?? [];
                var listening = string.Join(" ", addresses.Where(a => !a.Contains("unix:", StringComparison.Ordinal)))
                    .Replace("http://", "", StringComparison.Ordinal);
                var subject = tls.Certificate.Subject;
                Ready(log, data.Settings.Hostname, data.Path, domains, queued, recovered, subject, listening);
                // Type=notify (packaging/mailward.service): systemd starts what waits for mail only now.
                if (_notifier.IsEnabled)
                    _notifier.Notify(ServiceState.Ready);
            });
        }

        // The queue is closed by the container when the app is disposed: after Kestrel has ended
        // every session, so no commit can race the close.
        private PosixSignalRegistration? _hangup;

        // sd_notify over $NOTIFY_SOCKET when the service manager set it, whoever the parent is.
        private readonly SystemdNotifier _notifier = new();

        public Task StopAsync(CancellationToken cancellationToken)
        {
            if (_notifier.IsEnabled)
                _notifier.Notify(ServiceState.Stopping);
            _hangup?.Dispose();
            tls.Dispose();
            Stopping(log);
            return Task.CompletedTask;
        }

        [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
            Message = "mailward ready: hostname={Hostname} data={DataPath} domains={Domains} queued={Queued} folder_intents_recovered={Recovered} tls={Certificate} listening={Listening}")]
        private static partial void Ready(ILogger logger, string hostname, string dataPath, int domains, int queued, int recovered, string certificate, string listening);

        [LoggerMessage(EventId = 1003, Level = LogLevel.Information, Message = "tls certificate reloaded: {Subject}")]
        private static partial void CertificateReloaded(ILogger logger, string subject);

        [LoggerMessage(EventId = 1004, Level = LogLevel.Error, Message = "tls certificate reload failed, the previous one stays: {Error}")]
        private static partial void CertificateReloadFailed(ILogger logger, string error);

        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "mailward stopping")]
        private static partial void Stopping(ILogger logger);

        [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "queue recovery: {Error}")]
        private static partial void QueueRecoveryError(ILogger logger, string error);

        [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "queue recovery: {Note}")]
        private static partial void QueueRecoveryNote(ILogger logger, string note);
    }
}
