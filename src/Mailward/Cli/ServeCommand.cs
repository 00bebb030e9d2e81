// mailward serve: runs every service in one process until SIGTERM or SIGINT.
using System.CommandLine;
using Mailward.Hosting;

namespace Mailward.Cli;

internal static class ServeCommand
{
    public static Command Build(CliContext ctx)
    {
        var cmd = new Command("serve", "Run the mail server until SIGTERM or SIGINT.");
        cmd.SetAction((pr, ct) => MailwardHost.RunAsync(ctx, ct));
        return cmd;
    }
}
