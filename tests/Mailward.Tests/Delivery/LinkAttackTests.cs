// A local user who controls the folder an alias line names (/home/bob/Maildir/, /var/mail/bob)
// tries to make the server, running as root, write where bob may not: a link planted under the
// predictable tmp name, an mbox that is a link, a new/ that is a link, a link out of the allowed
// folder, a line outside the store that the admin never allowed. The attacker's files are made by
// the user nobody (runuser); the victims are root's own 0600 files.
using System.Diagnostics;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Mailward.Tests.Delivery;

public sealed class LinkAttackTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public LinkAttackTests()
    {
        // The attacker's home: owned by nobody, so nobody can plant what it likes there.
        Directory.CreateDirectory(Bob);
        File.SetUnixFileMode(_dir.Path, (UnixFileMode)0b111_101_101);
        Run("chown", "nobody", Bob);
    }

    private string Bob => _dir.Combine("bob");

    /// <summary>A root-owned 0600 file the attacker must not change.</summary>
    private string Victim(string name, string text = "root's secret\n")
    {
        var path = _dir.Combine(name);
        File.WriteAllText(path, text);
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return path;
    }

    private static void AsNobody(string script) => Run("runuser", "-u", "nobody", "--", "sh", "-c", script);

    private static void Run(string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{program} {string.Join(' ', args)}: exit {p.ExitCode}: {err}");
    }

    private static uint Owner(string path)
    {
        using var h = File.OpenHandle(path);
        return Core.Posix.Libc.Facts(h).Owner;
    }

    [FactWhenRoot]
    public async Task A_link_planted_under_the_tmp_name_does_not_overwrite_roots_file()
    {
        var victim = Victim("victim");
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var now = clock.GetUtcNow();
        // The name the server will use: arrival second, queue id (the millisecond clock), recipient 0, line 0, node, host.
        var planted = Core.MailStore.Maildir.MaildirName.DeliveryBase(now, $"{now.ToUnixTimeMilliseconds():X11}00000", 0, 0, "node-t") + ".mail.test";
        AsNobody($"mkdir -p {Bob}/Maildir/tmp {Bob}/Maildir/new {Bob}/Maildir/cur && ln -s {victim} {Bob}/Maildir/tmp/{planted}");
        await using var server = await ServerFixture.StartAsync(["domain hosted.test", $"alias box@hosted.test {Bob}/Maildir/"], clock,
            "--Delivery:Enabled=true", $"--Delivery:AllowedExternalPaths={Bob}", "--Node:Id=node-t");
        await DeliveryTestMail.SendAsync(server, "box@hosted.test", "planted");
        await DeliveryTestMail.SettleAsync(server);

        Assert.Equal("root's secret\n", await File.ReadAllTextAsync(victim));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(Bob, "Maildir", "tmp"))); // the link was removed, not followed
        var delivered = Assert.Single(DeliveryTestMail.NewMail(Path.Combine(Bob, "Maildir")));
        Assert.Contains("Subject: planted", await File.ReadAllTextAsync(delivered));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(delivered));
    }

    [FactWhenRoot]
    public async Task An_mbox_that_is_a_link_or_not_the_servers_gets_nothing_and_a_new_one_is_0600()
    {
        var victim = Victim("victim");
        Directory.CreateDirectory(_dir.Combine("rootonly"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var shadow = Victim("rootonly/shadow");
        // dir: a folder link, as if swapped in after the path check (its target is in an allowed folder too).
        AsNobody($"ln -s {victim} {Bob}/linked.mbox && touch {Bob}/owned.mbox && ln -s {_dir.Combine("rootonly")} {Bob}/dir");
        await using var server = await ServerFixture.StartAsync(
            ["user me@hosted.test", $"alias linked@hosted.test {Bob}/linked.mbox", $"alias owned@hosted.test {Bob}/owned.mbox",
             $"alias fresh@hosted.test {Bob}/fresh.mbox", $"alias swapped@hosted.test {Bob}/dir/shadow"],
            "--Delivery:Enabled=true", $"--Delivery:AllowedExternalPaths={_dir.Path}");
        await DeliveryTestMail.SendAsync(server, "linked@hosted.test", "through the link", from: "me@hosted.test");
        await DeliveryTestMail.SendAsync(server, "owned@hosted.test", "into nobody's file", from: "me@hosted.test");
        await DeliveryTestMail.SendAsync(server, "fresh@hosted.test", "new mbox", from: "me@hosted.test");
        await DeliveryTestMail.SendAsync(server, "swapped@hosted.test", "through a folder link", from: "me@hosted.test");
        await DeliveryTestMail.SettleAsync(server, left: 3); // the refusals are deferred, not lost

        Assert.Equal("root's secret\n", await File.ReadAllTextAsync(victim));
        Assert.Equal("root's secret\n", await File.ReadAllTextAsync(shadow));
        Assert.Contains(server.Log, l => l.Contains("to=<swapped@hosted.test> channel=local result=deferred", StringComparison.Ordinal));
        Assert.Equal(0, new FileInfo(Path.Combine(Bob, "owned.mbox")).Length);
        Assert.Contains(server.Log, l => l.Contains("to=<linked@hosted.test> channel=local result=deferred", StringComparison.Ordinal));
        Assert.Contains(server.Log, l => l.Contains("to=<owned@hosted.test> channel=local result=deferred", StringComparison.Ordinal));
        var fresh = Path.Combine(Bob, "fresh.mbox");
        Assert.Contains("Subject: new mbox", await File.ReadAllTextAsync(fresh));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(fresh));
        Assert.Equal(0u, Owner(fresh));
    }

    [FactWhenRoot]
    public async Task A_Maildir_whose_new_folder_is_a_link_is_refused()
    {
        var target = _dir.Combine("rootdir");
        Directory.CreateDirectory(target, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        AsNobody($"mkdir -p {Bob}/Maildir/tmp {Bob}/Maildir/cur && ln -s {target} {Bob}/Maildir/new");
        await using var server = await ServerFixture.StartAsync(["domain hosted.test", $"alias box@hosted.test {Bob}/Maildir/"],
            "--Delivery:Enabled=true", $"--Delivery:AllowedExternalPaths={Bob}");
        await DeliveryTestMail.SendAsync(server, "box@hosted.test", "into root's folder");
        await DeliveryTestMail.SettleAsync(server, left: 1);

        Assert.Empty(Directory.GetFileSystemEntries(target));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(Bob, "Maildir", "tmp")));
        Assert.Contains(server.Log, l => l.Contains("result=deferred detail=Maildir folder new/ is a symbolic link", StringComparison.Ordinal));
    }

    [FactWhenRoot]
    public async Task Alias_paths_outside_the_store_need_the_setting_and_links_out_of_an_allowed_folder_are_refused()
    {
        var rootOnly = _dir.Combine("rootonly");
        Directory.CreateDirectory(rootOnly, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var victim = Victim("rootonly/shadow");
        AsNobody($"ln -s {rootOnly} {Bob}/out");
        var elsewhere = _dir.Combine("elsewhere");
        await using var server = await ServerFixture.StartAsync(
            ["user me@hosted.test", $"alias far@hosted.test {elsewhere}/Maildir/", $"alias via@hosted.test {Bob}/out/shadow"],
            "--Delivery:Enabled=true", $"--Delivery:AllowedExternalPaths={Bob}");
        await DeliveryTestMail.SendAsync(server, "far@hosted.test", "outside", from: "me@hosted.test");
        await DeliveryTestMail.SendAsync(server, "via@hosted.test", "through a folder link", from: "me@hosted.test");
        await DeliveryTestMail.SettleAsync(server);

        Assert.False(Directory.Exists(elsewhere));
        Assert.Equal("root's secret\n", await File.ReadAllTextAsync(victim));
        var bounces = DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, "me@hosted.test")).Select(File.ReadAllText).ToList();
        Assert.Equal(2, bounces.Count);
        Assert.All(bounces, b => Assert.Contains("outside the mail store that Delivery:AllowedExternalPaths does not allow", b));
        Assert.All(bounces, b => Assert.DoesNotContain(_dir.Path, b)); // no local paths to a stranger
    }

    public void Dispose() => _dir.Dispose();
}
