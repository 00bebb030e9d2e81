// `mailward install`: the steps that make a published mailward a service (docs/install.md): the
// program in its folder, the systemd unit, the service user and group, the data folder, and the
// links sendmail, mailq, vpopbull and vdeloldusers. Each step can print itself as the shell command
// an admin would type (--print) or carry itself out (--write), under a staging root (--prefix).
using System.Diagnostics;
using System.Reflection;
using Mailward.Core.Configuration;
using Mailward.Core.Posix;

namespace Mailward.Install;

/// <param name="Prefix">Root the files are written under ("/" for a real install; a folder for staging or a test). The files' contents name the final paths.</param>
/// <param name="LibDir">Folder of the program on the target (the unit's ExecStart, the links' target).</param>
/// <param name="Force">Replace files at the links' places that are not Mailward's (moved aside to NAME.before-mailward).</param>
internal sealed record InstallOptions(string Prefix, string LibDir, bool Force)
{
    public const string DefaultLibDir = "/usr/local/lib/mailward";
    public const string ServiceUser = "mailward";

    /// <summary>The unit's StateDirectory=mailward: systemd makes and owns it for User=.</summary>
    public const string DataDir = "/var/lib/mailward";
    public const string UnitPath = "/etc/systemd/system/mailward.service";

    /// <summary>Where programs look for these names: sendmail and mailq where every MTA puts them.</summary>
    public static readonly (string Path, string Name)[] Links =
    [
        ("/usr/local/bin/mailward", "mailward"),
        ("/usr/sbin/sendmail", "sendmail"),
        ("/usr/bin/mailq", "mailq"),
        ("/usr/local/bin/vpopbull", "vpopbull"),
        ("/usr/local/bin/vdeloldusers", "vdeloldusers"),
    ];

    public string Program => LibDir.TrimEnd('/') + "/mailward";

    /// <summary>A final path as it is written: under the prefix.</summary>
    public string Staged(string path) => Prefix == "/" ? path : Path.Join(Prefix, path);
}

internal sealed class InstallPlan(InstallOptions options, TextWriter output, TextWriter error)
{
    /// <summary>Exit status when a step was left undone (a foreign file at a link's place, no root for useradd).</summary>
    public const int ExitIncomplete = 5;

    private int _skipped;

    /// <summary>The unit with this install's paths (packaging/mailward.service is the template, embedded).</summary>
    public static string RenderUnit(InstallOptions o)
    {
        using var stream = typeof(InstallPlan).Assembly.GetManifestResourceStream("Mailward.Install.mailward.service")!;
        var unit = new StreamReader(stream).ReadToEnd();
        return unit.Replace(InstallOptions.DefaultLibDir + "/mailward", o.Program, StringComparison.Ordinal);
    }

    /// <summary>The whole install as a shell script an admin can read, and run as root.</summary>
    public int Print()
    {
        var o = options;
        output.WriteLine("#!/bin/sh");
        output.WriteLine("# mailward install: what --write does (docs/install.md). Run as root.");
        output.WriteLine("set -e");
        var source = PublishedProgram();
        output.WriteLine(source is null
            ? $"# the program: copy a published mailward (packaging/publish.sh) and libe_sqlite3.so into {o.LibDir}"
            : $"install -d -m 0755 {o.LibDir}\ninstall -m 0755 {source} {o.Program}");
        if (source is not null && File.Exists(SqliteBeside(source)))
            output.WriteLine($"install -m 0644 {SqliteBeside(source)} {o.LibDir}/libe_sqlite3.so");
        output.WriteLine($"getent passwd {InstallOptions.ServiceUser} >/dev/null || {UserAddCommand}");
        output.WriteLine($"install -d -m 0711 -o {InstallOptions.ServiceUser} -g {InstallOptions.ServiceUser} {InstallOptions.DataDir}");
        foreach (var (path, _) in InstallOptions.Links)
            output.WriteLine($"ln -s {o.Program} {path}   # unless {path} exists (--force moves it to {path}.before-mailward)");
        output.WriteLine($"cat > {InstallOptions.UnitPath} <<'UNIT'");
        output.Write(RenderUnit(o));
        output.WriteLine("UNIT");
        output.WriteLine("systemctl daemon-reload");
        output.WriteLine("# then: systemctl enable --now mailward");
        return 0;
    }

    private static string UserAddCommand =>
        $"useradd --system --user-group --home-dir {InstallOptions.DataDir} --no-create-home --shell /usr/sbin/nologin {InstallOptions.ServiceUser}";

    public int Write()
    {
        var o = options;
        CopyProgram();
        WriteFile(o.Staged(InstallOptions.UnitPath), RenderUnit(o), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var account = EnsureUser();
        var data = o.Staged(InstallOptions.DataDir);
        CreateFolders(data);
        // 0711: other local users pass through to public/submit.sock (sendmail) and can list nothing.
        File.SetUnixFileMode(data, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | DataFolderModes.TraverseOnly);
        if (account is { } a)
            Chown(data, a.Uid, a.Gid);
        Say($"data folder {data} (0711{(account is null ? "" : ", " + InstallOptions.ServiceUser)})");
        foreach (var (path, _) in InstallOptions.Links)
            Link(o.Staged(path));
        if (o.Prefix == "/")
            Say("next: systemctl daemon-reload && systemctl enable --now mailward");
        return _skipped == 0 ? 0 : ExitIncomplete;
    }

    /// <summary>The running executable when it is a published single file (it carries everything); null when run from a build folder.</summary>
    private static string? PublishedProgram()
    {
        // A single-file bundle has no assembly paths: the assemblies live inside the executable.
#pragma warning disable IL3000 // the empty Location is exactly what is asked
        var bundled = string.IsNullOrEmpty(Assembly.GetEntryAssembly()?.Location);
#pragma warning restore IL3000
        return bundled ? Environment.ProcessPath : null;
    }

    private static string SqliteBeside(string program) => Path.Combine(Path.GetDirectoryName(program)!, "libe_sqlite3.so");

    private void CopyProgram()
    {
        var o = options;
        var source = PublishedProgram();
        if (source is null)
        {
            Say($"program: not a published single file (run packaging/publish.sh); copy it into {o.Staged(o.LibDir)} yourself");
            return;
        }
        var lib = o.Staged(o.LibDir);
        CreateFolders(lib);
        if (Path.GetFullPath(source) == Path.GetFullPath(Path.Combine(lib, "mailward")))
        {
            Say($"program {source} (already in place)");
            return;
        }
        CopyReplacing(source, Path.Combine(lib, "mailward"), Executable);
        if (File.Exists(SqliteBeside(source)))
            CopyReplacing(SqliteBeside(source), Path.Combine(lib, "libe_sqlite3.so"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        Say($"program {Path.Combine(lib, "mailward")}");
    }

    private const UnixFileMode Executable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>Copy then rename: a running mailward keeps its old file, the next start gets the new one.</summary>
    private static void CopyReplacing(string from, string to, UnixFileMode mode)
    {
        var tmp = to + ".new";
        File.Copy(from, tmp, overwrite: true);
        File.SetUnixFileMode(tmp, mode);
        File.Move(tmp, to, overwrite: true);
    }

    /// <summary>
    /// Makes the missing folders of a system path 0755 each: mailward runs with umask 077, which
    /// would leave a staged /usr or /etc closed to everyone but root.
    /// </summary>
    private static void CreateFolders(string path)
    {
        var missing = new Stack<string>();
        for (var dir = path; !Directory.Exists(dir); dir = Path.GetDirectoryName(dir)!)
            missing.Push(dir);
        foreach (var dir in missing)
        {
            Directory.CreateDirectory(dir);
            File.SetUnixFileMode(dir, Executable);
        }
    }

    private void WriteFile(string path, string text, UnixFileMode mode)
    {
        CreateFolders(Path.GetDirectoryName(path)!);
        var tmp = path + ".new";
        File.WriteAllText(tmp, text);
        File.SetUnixFileMode(tmp, mode);
        File.Move(tmp, path, overwrite: true);
        Say($"unit {path}");
    }

    /// <summary>The service user's ids; made with useradd on a real install, only named when staging.</summary>
    private (uint Uid, uint Gid)? EnsureUser()
    {
        var found = LookUpUser();
        if (found is not null)
            return found;
        if (options.Prefix != "/")
        {
            Say($"user: staging under {options.Prefix}, so no user is made; on the target run: {UserAddCommand}");
            return null;
        }
        if (Libc.EffectiveUserId != 0)
        {
            Warn($"user {InstallOptions.ServiceUser} is missing and only root can add it: {UserAddCommand}");
            return null;
        }
        var (code, _, err) = Run("useradd", UserAddCommand.Split(' ')[1..]);
        if (code != 0)
        {
            Warn($"useradd failed ({code}): {err.Trim()}");
            return null;
        }
        Say($"user and group {InstallOptions.ServiceUser} (system, no login, home {InstallOptions.DataDir})");
        return LookUpUser();
    }

    private static (uint Uid, uint Gid)? LookUpUser()
    {
        var (code, output, _) = Run("getent", ["passwd", InstallOptions.ServiceUser]);
        var fields = output.Trim().Split(':');
        return code == 0 && fields.Length >= 4 && uint.TryParse(fields[2], out var uid) && uint.TryParse(fields[3], out var gid) ? (uid, gid) : null;
    }

    private static void Chown(string path, uint uid, uint gid)
    {
        using var dir = Libc.Open(path, Libc.ORdOnly | Libc.ODirectory);
        Libc.Fchown(dir, uid, gid);
    }

    /// <summary>A link to the program; what is there already is kept unless it is ours or --force says so.</summary>
    private void Link(string path)
    {
        var target = options.Program;
        var existing = new FileInfo(path);
        if (existing.LinkTarget is { } current)
        {
            if (current == target)
            {
                Say($"link {path} (already there)");
                return;
            }
        }
        if (existing.Exists || existing.LinkTarget is not null || Directory.Exists(path))
        {
            if (!options.Force)
            {
                Warn($"{path} exists and is not Mailward's; left alone (--force moves it to {path}.before-mailward)");
                return;
            }
            File.Move(path, path + ".before-mailward", overwrite: true);
            Say($"moved {path} to {path}.before-mailward");
        }
        CreateFolders(Path.GetDirectoryName(path)!);
        File.CreateSymbolicLink(path, target);
        Say($"link {path} -> {target}");
    }

    private static (int Code, string Out, string Err) Run(string program, string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        try
        {
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEnd();
            p.WaitForExit();
            return (p.ExitCode, stdout.Result, stderr);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, "", e.Message);
        }
    }

    private void Say(string line) => output.WriteLine($"mailward install: {line}");

    private void Warn(string line)
    {
        _skipped++;
        error.WriteLine($"mailward install: {line}");
    }
}
