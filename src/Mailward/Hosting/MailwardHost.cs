// `mailward serve`: the MailServer for the data folder, until SIGTERM or SIGINT (exit 0), once this
// process holds its Node:Id in the account store (exit 5 when another live process does).
using Mailward.Cli;

namespace Mailward.Hosting;

internal static class MailwardHost
{
    /// <summary>The exit status when another live process holds this Node:Id (docs/multi-node.md).</summary>
    public const int NodeInUse = 5;

    public static async Task<int> RunAsync(CliContext ctx, CancellationToken ct)
    {
        // Node identity first: a second live process with this Node:Id starts nothing (docs/multi-node.md).
        Core.Accounts.INodeClaim node;
        try
        {
            node = ctx.AccountStore.ClaimNode(ctx.Data.Settings.NodeId, System.Net.Dns.GetHostName(), Environment.ProcessId,
                typeof(MailwardHost).Assembly.GetName().Version?.ToString() ?? "");
        }
        catch (Core.Accounts.NodeInUseException e)
        {
            await ctx.Error.WriteLineAsync($"mailward: cannot start: {e.Message}");
            return NodeInUse;
        }
        using var claim = node;
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
