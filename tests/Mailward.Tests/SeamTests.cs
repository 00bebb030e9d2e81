// The seams of design.md, enforced: the protocol layer (SMTP, POP3) reaches the file system and the
// database only through the components (queue, policy), never directly.
using System.Text.RegularExpressions;

namespace Mailward.Tests;

public partial class SeamTests
{
    [GeneratedRegex(@"\b(File|Directory|FileStream|FileInfo|DirectoryInfo|Sqlite\w*|DbConnection)\b")]
    private static partial Regex ForbiddenInProtocols();

    private static string Repo()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Mailward.sln")))
            dir = dir.Parent;
        return dir!.FullName;
    }

    [Theory]
    [InlineData("Smtp")]
    [InlineData("Pop3")]
    public void Protocol_sessions_touch_no_files_and_no_database(string protocol)
    {
        var offenders = Directory.GetFiles(Path.Combine(Repo(), "src", "Mailward.Protocols", protocol), "*.cs")
            .SelectMany(f => File.ReadAllLines(f).Select((line, i) => (f, i, line)))
            .Where(x => !x.line.TrimStart().StartsWith("//", StringComparison.Ordinal) && ForbiddenInProtocols().IsMatch(x.line))
            .Select(x => $"{Path.GetFileName(x.f)}:{x.i + 1}: {x.line.Trim()}")
            .ToList();
        Assert.True(offenders.Count == 0, string.Join("\n", offenders));
    }

    [Fact]
    public void The_protocols_assembly_does_not_reference_the_database_driver()
    {
        var references = typeof(Mailward.Protocols.Smtp.SmtpSession).Assembly.GetReferencedAssemblies().Select(a => a.Name);
        Assert.DoesNotContain("Microsoft.Data.Sqlite", references);
        Assert.DoesNotContain("Npgsql", references);
    }
}
