// Composes the running server on the generic host: settings, logging, the account store and the
// services. SIGTERM/SIGINT stop it gracefully (the host's console lifetime) and the exit status is 0.
using Mailward.Cli;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailward.Hosting;

internal static partial class MailwardHost
{
    public static async Task<int> RunAsync(CliContext ctx, CancellationToken ct)
    {
        var data = ctx.Data;
        var admin = ctx.Admin;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(Enum.Parse<LogLevel>(data.Settings.LogLevel));
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
        });
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
        builder.Services.AddSingleton(data);
        builder.Services.AddSingleton<IAccountStore>(admin.Store);
        builder.Services.AddSingleton(admin);
        builder.Services.AddHostedService<ReadyService>();
        using var host = builder.Build();
        await host.RunAsync(ct);
        return 0;
    }

    /// <summary>Logs the ready line once everything is open; services join here as they land.</summary>
    private sealed partial class ReadyService(DataFolder data, AccountAdmin admin, ILogger<ReadyService> log) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var recovered = admin.RecoverFolders();
            var domains = admin.Store.ListDomains().Count;
            Ready(log, data.Settings.Hostname, data.Path, domains, recovered);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            Stopping(log);
            return Task.CompletedTask;
        }

        [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
            Message = "mailward ready: hostname={Hostname} data={DataPath} domains={Domains} folder_intents_recovered={Recovered}")]
        private static partial void Ready(ILogger logger, string hostname, string dataPath, int domains, int recovered);

        [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "mailward stopping")]
        private static partial void Stopping(ILogger logger);
    }
}
