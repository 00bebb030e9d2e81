// The published package the smoke test runs: packaging/out/linux-x64 when packaging/publish.sh made
// it after the last source change (.ci/run does, before the tests), else published here once per
// test run from a copy of the sources (so the checkout's obj/ folders are left alone), with the same
// settings as publish.sh, and removed after the run. Publishing ReadyToRun takes minutes.
using System.Diagnostics;

namespace Mailward.Tests.Packaging;

public sealed class PublishedProgram : IDisposable
{
    private readonly string? _own;

    public PublishedProgram()
    {
        var root = Path.GetDirectoryName(SystemdUnitTests.PackagingFolder)!;
        var made = Path.Combine(root, "packaging", "out", "linux-x64");
        if (File.Exists(Path.Combine(made, "mailward")) && File.GetLastWriteTimeUtc(Path.Combine(made, "mailward")) > NewestSource(root))
        {
            Folder = made;
            How = $"packaging/publish.sh's {made}";
            return;
        }
        _own = Path.Combine(Path.GetTempPath(), "mailward-tests", "publish-" + Guid.NewGuid().ToString("N")[..8]);
        var copy = Path.Combine(_own, "src");
        foreach (var item in new[] { "src", "packaging/mailward.service", "Directory.Build.props", "Directory.Packages.props", "global.json", ".editorconfig" })
            CopyTree(Path.Combine(root, item), Path.Combine(copy, item));
        Folder = Path.Combine(_own, "out");
        var watch = Stopwatch.StartNew();
        var psi = new ProcessStartInfo("dotnet", ["publish", "src/Mailward", "-c", "Release", "-r", "linux-x64", "-o", Folder, "-p:DebugType=embedded", "--nologo", "-v", "quiet"])
        {
            WorkingDirectory = copy,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var errors = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"dotnet publish failed ({p.ExitCode}): {output.Result} {errors}");
        How = $"published for this run in {watch.Elapsed.TotalSeconds:F0} s";
    }

    /// <summary>The folder with the single-file mailward and libe_sqlite3.so.</summary>
    public string Folder { get; }

    /// <summary>Where it came from (and how long publishing took), for the test's output.</summary>
    public string How { get; }

    private static DateTime NewestSource(string root) =>
        new[] { "src" }.SelectMany(d => Directory.EnumerateFiles(Path.Combine(root, d), "*", SearchOption.AllDirectories))
            .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
            .Append(Path.Combine(root, "packaging", "mailward.service")).Append(Path.Combine(root, "Directory.Packages.props"))
            .Max(File.GetLastWriteTimeUtc);

    private static void CopyTree(string from, string to)
    {
        if (File.Exists(from))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            File.Copy(from, to);
            return;
        }
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split('/').Any(part => part is "bin" or "obj"))
                continue;
            CopyTree(file, Path.Combine(to, relative));
        }
    }

    public void Dispose()
    {
        if (_own is null)
            return;
        try
        {
            Directory.Delete(_own, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
