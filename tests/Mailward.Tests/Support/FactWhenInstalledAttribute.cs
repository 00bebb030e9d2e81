// A test that needs a program from Debian (fetchmail, swaks, ...): skipped, and reported as
// skipped, when the program is not on PATH. .ci/run installs them, so CI always runs these.
namespace Mailward.Tests.Support;

public sealed class FactWhenInstalledAttribute : FactAttribute
{
    public FactWhenInstalledAttribute(string program)
    {
        var found = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Any(dir => File.Exists(Path.Combine(dir, program)));
        if (!found)
            Skip = $"{program} is not installed (apt-get install {program}; .ci/run does)";
    }
}
