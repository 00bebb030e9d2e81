// mailward install [--print | --write] [--prefix DIR] [--libdir DIR] [--force]: the service's files
// (Install/InstallPlan.cs): printed as a shell script by default, written with --write.
using System.CommandLine;
using Mailward.Install;

namespace Mailward.Cli;

internal static class InstallCommand
{
    public static Command Build(CliContext ctx)
    {
        var print = new Option<bool>("--print") { Description = "Print what would be done, as a shell script (the default)." };
        var write = new Option<bool>("--write") { Description = "Do it: program, unit, user and group, data folder, links." };
        var prefix = new Option<string>("--prefix") { Description = "Write everything under this folder as if it were / (staging a package, a test).", DefaultValueFactory = _ => "/" };
        var libDir = new Option<string>("--libdir") { Description = "Folder of the program on the target.", DefaultValueFactory = _ => InstallOptions.DefaultLibDir };
        var force = new Option<bool>("--force") { Description = "Replace files at the links' places that are not Mailward's (kept as NAME.before-mailward)." };
        var cmd = new Command("install", "Install the published program as a systemd service (docs/install.md).") { print, write, prefix, libDir, force };
        cmd.SetAction(pr =>
        {
            if (pr.GetValue(print) && pr.GetValue(write))
                return ctx.Fail("install: --print or --write, not both", MailwardCli.ExitUsage);
            var dir = pr.GetValue(libDir)!;
            if (!Path.IsPathRooted(dir))
                return ctx.Fail("install: --libdir must be an absolute path", MailwardCli.ExitUsage);
            var plan = new InstallPlan(new InstallOptions(Path.GetFullPath(pr.GetValue(prefix)!), dir, pr.GetValue(force)), ctx.Out, ctx.Error);
            return pr.GetValue(write) ? plan.Write() : plan.Print();
        });
        return cmd;
    }
}
