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

    /// <summary>
    /// The same seam over what the compiler emitted: every type the protocols assembly references
    /// (its TypeReference table, so a `var`, an extension method or a fully qualified name cannot
    /// hide one). Protocols see mailboxes, owners and logins, never Maildir or SQLite (the
    /// certificate loader at the TLS edge reads files; sessions do not, as the test above checks).
    /// </summary>
    [Fact]
    public void The_compiled_protocols_reference_no_Maildir_SQLite_or_file_types()
    {
        var path = typeof(Mailward.Protocols.Smtp.SmtpSession).Assembly.Location;
        using var pe = new System.Reflection.PortableExecutable.PEReader(File.OpenRead(path));
        var md = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
        var referenced = md.TypeReferences.Select(h => md.GetTypeReference(h))
            .Select(t => $"{md.GetString(t.Namespace)}.{md.GetString(t.Name)}").ToList();
        Assert.Contains("Mailward.Core.Auth.LoginService", referenced); // the table is read at all
        var offenders = referenced.Where(IsForbidden).Distinct().Order().ToList();
        Assert.True(offenders.Count == 0, "Protocols reference: " + string.Join(", ", offenders));
    }

    private static bool IsForbidden(string type)
    {
        var name = type[(type.LastIndexOf('.') + 1)..];
        return type.StartsWith("Microsoft.Data.Sqlite.", StringComparison.Ordinal)
            || type.StartsWith("Npgsql.", StringComparison.Ordinal)
            || type.StartsWith("Mailward.Core.MailStore.Maildir.", StringComparison.Ordinal)
            || type.StartsWith("Mailward.Core.", StringComparison.Ordinal) && (name.StartsWith("Maildir", StringComparison.Ordinal)
                || name.StartsWith("Sqlite", StringComparison.Ordinal) || name is "MailStoreLayout" or "MailFolders" or "MboxWriter")
            || type is "System.IO.RandomAccess" or "Microsoft.Win32.SafeHandles.SafeFileHandle";
    }
}
