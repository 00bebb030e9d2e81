// `mailward install`: --print shows the whole install as a shell script; --write into a staging
// prefix writes the unit, the owner-only data folder and the links, leaves a file that is not
// Mailward's alone unless --force (which keeps it aside), and a second run changes nothing.
using Mailward.Tests.Support;

namespace Mailward.Tests.Packaging;

public sealed class InstallCommandTests : IDisposable
{
    private readonly MailwardRunner _m = new();
    private readonly TempFolder _root = new();

    public void Dispose()
    {
        _m.Dispose();
        _root.Dispose();
    }

    private static readonly string[] LinkPaths = ["usr/local/bin/mailward", "usr/sbin/sendmail", "usr/bin/mailq", "usr/local/bin/vpopbull", "usr/local/bin/vdeloldusers"];

    [Fact]
    public async Task Print_shows_the_unit_the_user_the_data_folder_and_the_links_as_a_script()
    {
        var r = (await _m.Run("install", "--print")).Ok();
        Assert.StartsWith("#!/bin/sh", r.Out, StringComparison.Ordinal);
        Assert.Contains("useradd --system --user-group --home-dir /var/lib/mailward --no-create-home --shell /usr/sbin/nologin mailward", r.Out);
        Assert.Contains("install -d -m 0711 -o mailward -g mailward /var/lib/mailward", r.Out);
        foreach (var link in LinkPaths)
            Assert.Contains($"ln -s /usr/local/lib/mailward/mailward /{link} ", r.Out);
        // The unit printed is packaging/mailward.service itself at the default paths.
        var unit = File.ReadAllText(Path.Combine(SystemdUnitTests.PackagingFolder, "mailward.service"));
        Assert.Contains("cat > /etc/systemd/system/mailward.service <<'UNIT'\n" + unit + "UNIT\n", r.Out);
        // Run from a build folder, not a published single file: it says where the program comes from.
        Assert.Contains("copy a published mailward (packaging/publish.sh)", r.Out);
    }

    [Fact]
    public async Task Write_into_a_prefix_makes_the_unit_the_data_folder_and_the_links()
    {
        var r = (await _m.Run("install", "--write", "--prefix", _root.Path, "--libdir", "/opt/mailward")).Ok();
        var unit = File.ReadAllText(_root.Combine("etc/systemd/system/mailward.service"));
        Assert.Contains("ExecStart=/opt/mailward/mailward --data /var/lib/mailward serve", unit);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
            File.GetUnixFileMode(_root.Combine("etc/systemd/system/mailward.service")));
        Assert.Equal((UnixFileMode)0b111_001_001, File.GetUnixFileMode(_root.Combine("var/lib/mailward"))); // 0711: through to public/submit.sock only
        foreach (var link in LinkPaths)
            Assert.Equal("/opt/mailward/mailward", new FileInfo(_root.Combine(link)).LinkTarget);
        Assert.Contains("no user is made", r.Out); // staging: the user is made on the target

        // Again: everything is already there, nothing is moved or duplicated.
        var again = (await _m.Run("install", "--write", "--prefix", _root.Path, "--libdir", "/opt/mailward")).Ok();
        Assert.Contains($"link {_root.Combine("usr/sbin/sendmail")} (already there)", again.Out);
        Assert.Empty(Directory.GetFiles(_root.Combine("usr/sbin"), "*.before-mailward"));
    }

    [Fact]
    public async Task A_sendmail_that_is_not_ours_stays_unless_forced_and_is_then_kept_aside()
    {
        Directory.CreateDirectory(_root.Combine("usr/sbin"));
        File.WriteAllText(_root.Combine("usr/sbin/sendmail"), "postfix's sendmail");
        var r = await _m.Run("install", "--write", "--prefix", _root.Path);
        Assert.Equal(5, r.Code);
        Assert.Contains("usr/sbin/sendmail exists and is not Mailward's", r.Err);
        Assert.Equal("postfix's sendmail", File.ReadAllText(_root.Combine("usr/sbin/sendmail")));
        Assert.Equal("/usr/local/lib/mailward/mailward", new FileInfo(_root.Combine("usr/bin/mailq")).LinkTarget); // the others are made

        (await _m.Run("install", "--write", "--prefix", _root.Path, "--force")).Ok();
        Assert.Equal("/usr/local/lib/mailward/mailward", new FileInfo(_root.Combine("usr/sbin/sendmail")).LinkTarget);
        Assert.Equal("postfix's sendmail", File.ReadAllText(_root.Combine("usr/sbin/sendmail.before-mailward")));
    }

    [Fact]
    public async Task Print_and_write_together_is_a_usage_error()
    {
        var r = await _m.Run("install", "--print", "--write");
        Assert.Equal(1, r.Code);
        Assert.Contains("--print or --write", r.Err);
    }
}
