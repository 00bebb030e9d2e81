// `mailward serve`: the MailServer for the data folder, until SIGTERM or SIGINT (exit 0).
using Mailward.Cli;

namespace Mailward.Hosting;

internal static class MailwardHost
{
    public static async Task<int> RunAsync(CliContext ctx, CancellationToken ct)
    {
        await using var server = new MailServer(ctx.Data, ctx.AccountStore);
        try
        {
            await server.RunAsync(ct);
        }
        catch (OperationCanceledException)
        {
            // Stopped while starting: nothing was accepted yet, a clean stop.
            return 0;
        }
        catch (IOException e)
        {
            // Kestrel reports a port it cannot bind (taken, or below 1024 without the right) this way.
            await ctx.Error.WriteLineAsync($"mailward: cannot start: {e.Message} (ports below 1024 need root or CAP_NET_BIND_SERVICE; see Smtp:Port and Listen:Address)");
            return 4;
        }
        return 0;
    }
}
