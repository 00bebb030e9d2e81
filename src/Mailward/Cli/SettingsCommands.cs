// mailward settings: prints every setting with its effective value and where docs/settings.md
// explains it, so an admin can see what the layered sources add up to.
using System.CommandLine;
using Mailward.Core.Configuration;

namespace Mailward.Cli;

internal static class SettingsCommands
{
    public static Command Build(CliContext ctx)
    {
        var markdown = new Option<bool>("--markdown") { Description = "Print the settings reference (docs/settings.md) instead." };
        return new Command("settings", "Show every setting's effective value (defaults, mailward.json, environment, command line).") { markdown }
            .WithAction(pr =>
            {
                if (pr.GetValue(markdown))
                {
                    ctx.Out.Write(SettingsCatalog.RenderMarkdown());
                    return;
                }
                foreach (var s in SettingsCatalog.All)
                    ctx.Out.WriteLine($"{s.Key}={ctx.Data.Settings.Get(s.Key)}");
            });
    }
}
