// Entry point: hands the arguments, the name this program was invoked as (vadduser, sendmail, ...)
// and the console to the command layer.
using Mailward.Cli;

return await MailwardCli.RunAsync(args, new CliConsole(Console.In, Console.Out, Console.Error, Console.IsInputRedirected), MailwardCli.InvokedName());
