// A test that needs a program from Debian (fetchmail, swaks, ...): skipped, and reported as
// skipped, when the program is not on PATH. .ci/run installs them, so CI always runs these.
namespace Mailward.Tests.Support;

public sealed class FactWhenInstalledAttribute : FactAttribute
{
    /// <summary>program: a name on PATH, or an absolute path (a helper binary such as /usr/lib/dovecot/imap); package: what installs it.</summary>
    public FactWhenInstalledAttribute(string program, string? package = null)
    {
        var found = program.StartsWith('/') ? File.Exists(program) : (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
        if (!found)
            Skip = $"{program} is not installed (apt-get install {package ?? program}; .ci/run does)";
    }
}
