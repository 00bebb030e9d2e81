// Runs a program the tests compare with or act through (python3, runuser, the mailward executable):
// its arguments, what it reads on standard input, and what it printed and exited with.
using System.Diagnostics;
using System.Text;

namespace Mailward.Tests.Support;

public sealed record ProgramResult(int Code, string Out, string Err);

public static class ExternalProgram
{
    public static Task<ProgramResult> RunAsync(string program, IEnumerable<string> args, string stdin = "",
        IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 60) =>
        RunAsync(program, args, Encoding.UTF8.GetBytes(stdin), environment, timeoutSeconds);

    /// <summary>A Python script (read from standard input by python3) that must exit 0; what it printed, trimmed.</summary>
    public static async Task<string> PythonAsync(string script, int timeoutSeconds = 60)
    {
        var result = await RunAsync("python3", [], script, timeoutSeconds: timeoutSeconds);
        Xunit.Assert.True(result.Code == 0, result.Err);
        return result.Out.Trim();
    }

    public static async Task<ProgramResult> RunAsync(string program, IEnumerable<string> args, byte[] stdin,
        IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 60)
    {
        var psi = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            psi.Environment[name] = value;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.StandardInput.BaseStream.WriteAsync(stdin);
        p.StandardInput.Close();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(timeoutSeconds));
        return new ProgramResult(p.ExitCode, await stdout, await stderr);
    }
}
