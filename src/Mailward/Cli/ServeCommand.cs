// mailward serve: runs every service in one process until SIGTERM or SIGINT. It refuses to run as
// root unless told --allow-root: a mail server parses hostile input all day and needs root for
// nothing (ports below 1024 need only CAP_NET_BIND_SERVICE; README "The two commands").
using System.CommandLine;
using Mailward.Core.Accounts;
using Mailward.Core.Posix;
using Mailward.Hosting;

namespace Mailward.Cli;

internal static class ServeCommand
{
    public static Command Build(CliContext ctx)
    {
        var allowRoot = new Option<bool>("--allow-root") { Description = "Run even as root (not recommended; use a service user with CAP_NET_BIND_SERVICE)." };
        var cmd = new Command("serve", "Run the mail server until SIGTERM or SIGINT.") { allowRoot };
        cmd.SetAction((pr, ct) => Libc.EffectiveUserId == 0 && !pr.GetValue(allowRoot)
            ? Task.FromResult(ctx.Fail("refusing to serve as root: run as a service user (ports below 1024: grant CAP_NET_BIND_SERVICE), or pass --allow-root",
                (int)AccountError.NotPermitted))
            : MailwardHost.RunAsync(ctx, ct));
        return cmd;
    }
}
