// Finds and prepares the data folder: --data DIR, else $MAILWARD_DATA, else ./mailward-data.
// On first use it is created (0700) with mailward.json (all defaults, commented; 0600) and the
// mail store root (0700).
using Microsoft.Extensions.Configuration;

namespace Mailward.Core.Configuration;

public sealed class DataFolder
{
    public const string SettingsFileName = "mailward.json";
    public const string EnvironmentVariable = "MAILWARD_DATA";
    public const string DefaultName = "mailward-data";

    private DataFolder(string path, IConfiguration configuration)
    {
        Path = path;
        Configuration = configuration;
        Settings = new MailwardSettings(configuration, path);
    }

    public string Path { get; }
    public IConfiguration Configuration { get; }
    public MailwardSettings Settings { get; }
    public string SettingsFile => System.IO.Path.Combine(Path, SettingsFileName);

    public static string Resolve(string? option) =>
        System.IO.Path.GetFullPath(!string.IsNullOrEmpty(option) ? option
            : Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } env ? env
            : DefaultName);

    /// <summary>Creates the folder and its settings file when missing, then loads the layered settings.</summary>
    public static DataFolder Open(string? dataOption, IEnumerable<string>? settingArgs = null)
    {
        var path = Resolve(dataOption);
        Directory.CreateDirectory(path, DataFolderModes.PrivateFolder); // password hashes, queue and TLS key live here
        var settingsFile = System.IO.Path.Combine(path, SettingsFileName);
        if (!File.Exists(settingsFile))
        {
            // Write then rename, so a crash never leaves a half-written settings file.
            var tmp = settingsFile + ".tmp";
            File.WriteAllText(tmp, SettingsCatalog.RenderJson());
            File.SetUnixFileMode(tmp, DataFolderModes.PrivateFile); // it may come to hold a connection string's password
            File.Move(tmp, settingsFile, overwrite: false);
        }
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(SettingsCatalog.Defaults)
            .AddJsonFile(settingsFile, optional: false, reloadOnChange: false)
            .AddEnvironmentVariables("MAILWARD_")
            .AddCommandLine(settingArgs?.ToArray() ?? [])
            .Build();
        var folder = new DataFolder(path, configuration);
        Directory.CreateDirectory(folder.Settings.MailStorePath, DataFolderModes.PrivateFolder);
        return folder;
    }
}
