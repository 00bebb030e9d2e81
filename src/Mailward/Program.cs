// Entry point: hands the arguments, the name this program was invoked as (vadduser, sendmail, ...)
// and the console to the command layer, after making every file it creates owner-only (umask 077).
using Mailward.Cli;
using Mailward.Core.Configuration;

DataFolderModes.RestrictUmask();

return await MailwardCli.RunAsync(args, new CliConsole(Console.In, Console.Out, Console.Error, Console.IsInputRedirected, !Console.IsOutputRedirected)
{
    OpenInput = Console.OpenStandardInput,
}, MailwardCli.InvokedName());
