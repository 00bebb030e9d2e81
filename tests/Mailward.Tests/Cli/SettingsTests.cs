// Settings: mailward.json written with every default on first use, the generated reference kept
// in step, and a setting read by code but not in the catalogue caught.
using Mailward.Core.Configuration;
using Mailward.Tests.Support;

namespace Mailward.Tests.Cli;

public sealed class SettingsTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    private static string RepoFile(string relative)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Mailward.sln")))
            dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new InvalidOperationException("no Mailward.sln above the tests"), relative);
    }

    [Fact]
    public async Task First_use_writes_mailward_json_with_every_setting_at_its_default()
    {
        (await _m.Run("settings")).Ok();
        var json = await File.ReadAllTextAsync(Path.Combine(_m.Data, "mailward.json"));
        foreach (var s in SettingsCatalog.All)
        {
            Assert.Contains($"\"{s.Name}\": ", json);
            Assert.Contains(s.Description, json);
        }
        // It parses as JSON with comments, and gives back the defaults.
        var folder = DataFolder.Open(_m.Data);
        foreach (var s in SettingsCatalog.All)
            Assert.Equal(s.Default, folder.Configuration[s.Key] ?? "", ignoreCase: true); // JSON false reads back as "False"
    }

    [Fact]
    public async Task Later_sources_win_file_then_command_line()
    {
        (await _m.Run("settings")).Ok();
        var file = Path.Combine(_m.Data, "mailward.json");
        await File.WriteAllTextAsync(file, (await File.ReadAllTextAsync(file)).Replace("\"Hostname\": \"\"", "\"Hostname\": \"from-file.test\""));
        Assert.Contains("Hostname=from-file.test", (await _m.Run("settings")).Ok().Out);
        Assert.Contains("Hostname=from-cli.test", (await _m.Run("--Hostname=from-cli.test", "settings")).Ok().Out);
        // An existing file is never overwritten.
        Assert.Contains("from-file.test", await File.ReadAllTextAsync(file));
    }

    [Fact]
    public void Docs_settings_md_is_generated_from_the_catalogue() =>
        Assert.Equal(SettingsCatalog.RenderMarkdown(), File.ReadAllText(RepoFile("docs/settings.md")));

    [Fact]
    public void Readme_names_every_setting()
    {
        var readme = File.ReadAllText(RepoFile("README.md"));
        foreach (var s in SettingsCatalog.All)
            Assert.Contains($"`{s.Key}`", readme);
    }

    [Fact]
    public void Reading_an_undocumented_setting_fails()
    {
        var settings = DataFolder.Open(_m.Data).Settings;
        Assert.Throws<InvalidOperationException>(() => settings.Get("Smtp:Undocumented"));
    }
}
