// mailward bulletin and vpopbull against a real data folder: who gets the message (domains, every
// domain, alias domains, the exclude file, bounce-mail users, quotas), what each copy looks like,
// and a child `mailward bulletin` to 1,000 users killed with SIGKILL half-way and run again.
using System.Diagnostics;
using Mailward.Cli;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Bulletins;
using Mailward.Core.MailStore;
using Mailward.Tests.Support;
using Xunit.Abstractions;

namespace Mailward.Tests.Bulletins;

public sealed class BulletinCommandTests(ITestOutputHelper output) : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    private string Write(string name, string text)
    {
        var path = Path.GetFullPath(Path.Combine(_m.Data, "..", name));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private string Maildir(string address) => MailStoreLayout.MaildirOf(_m.UserFolder(address));

    private string[] Copies(string address) =>
        [.. Directory.GetFiles(Path.Combine(Maildir(address), "new")), .. Directory.GetFiles(Path.Combine(Maildir(address), "cur"))];

    private async Task UsersAsync(string domain, params string[] locals)
    {
        (await _m.Run("domain", "add", domain, "--no-postmaster")).Ok();
        foreach (var l in locals)
            await _m.Admin().AddUserAsync(Actor.System, $"{l}@{domain}", new PasswordInput.NoPassword());
    }

    [Fact]
    public async Task Every_user_of_the_named_domains_gets_one_copy_with_its_own_header_and_the_excluded_none()
    {
        await UsersAsync("a.test", "ann", "bob", "cat");
        await UsersAsync("b.test", "dan", "eve");
        await UsersAsync("c.test", "fay");
        (await _m.Run("domain", "alias", "add", "alias-a.test", "a.test")).Ok();
        var file = Write("notice.txt", "From: admin@a.test\r\nSubject: maintenance\r\n\r\nTonight at 22:00.\r\n");
        var exclude = Write("exclude.txt", "# not these\nbob@alias-a.test\n\nEVE@b.test\n");
        var r = (await _m.Run("bulletin", file, "a.test", "b.test", "-e", exclude)).Ok();
        Assert.Contains("delivered to 3 users", r.Out);
        Assert.Contains("2 excluded", r.Out);
        foreach (var a in new[] { "ann@a.test", "cat@a.test", "dan@b.test" })
        {
            var text = File.ReadAllText(Assert.Single(Copies(a)));
            Assert.StartsWith($"Delivered-To: {a}\nTo: {a}\nDate: ", text);
            Assert.Contains("\nMessage-ID: <", text);
            Assert.EndsWith("From: admin@a.test\nSubject: maintenance\n\nTonight at 22:00.\n", text); // stored with LF
        }
        Assert.Empty(Copies("bob@a.test"));
        Assert.Empty(Copies("eve@b.test"));
        Assert.Empty(Copies("fay@c.test"));
    }

    [Fact]
    public async Task A_file_with_its_own_To_and_Date_keeps_them()
    {
        await UsersAsync("a.test", "ann");
        var file = Write("n.txt", "From: a@a.test\nTo: all users <noreply@a.test>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@a.test>\nSubject: s\n\nbody\n");
        (await _m.Run("bulletin", file, "--all")).Ok();
        var text = File.ReadAllText(Assert.Single(Copies("ann@a.test")));
        Assert.Equal("Delivered-To: ann@a.test\n" + File.ReadAllText(file), text);
    }

    [Fact]
    public async Task Wrong_input_is_refused_before_anything_is_sent()
    {
        await UsersAsync("a.test", "ann");
        var good = Write("n.txt", "Subject: s\n\nbody\n");
        Assert.Equal(1, (await _m.Run("bulletin", good)).Code); // usage: no domains, no --all
        Assert.Equal(11, (await _m.Run("bulletin", good, "a.test", "nowhere.test")).Code);
        Assert.Equal(20, (await _m.Run("bulletin", Write("plain.txt", "just text, no header\n"), "a.test")).Code);
        Assert.Equal(20, (await _m.Run("bulletin", Write("empty.txt", ""), "a.test")).Code);
        Assert.Equal(20, (await _m.Run("bulletin", good, "a.test", "-e", Write("x.txt", "not an address\n"))).Code);
        Assert.Equal(20, (await _m.Run("--Smtp:MaxMessageBytes=10", "bulletin", good, "a.test")).Code);
        Assert.Empty(Copies("ann@a.test"));
    }

    [Fact]
    public async Task Quotas_are_ignored_unless_respected_and_bounce_mail_users_are_skipped()
    {
        await UsersAsync("a.test", "ann", "full", "nomail");
        (await _m.Run("user", "quota", "full@a.test", "1000S")).Ok();
        (await _m.Run("user", "mod", "nomail@a.test", "--set", "bounce-mail")).Ok();
        var big = Write("big.txt", "Subject: s\n\n" + new string('x', 2000) + "\n");
        var r = (await _m.Run("bulletin", big, "a.test", "--respect-quota")).Ok();
        Assert.Contains("1 over quota", r.Out);
        Assert.Contains("1 refuse mail", r.Out);
        Assert.Contains("not finished", r.Out);
        Assert.Contains("full@a.test: skipped", r.Err);
        Assert.Single(Copies("ann@a.test"));
        Assert.Empty(Copies("full@a.test"));
        Assert.Empty(Copies("nomail@a.test"));
        r = (await _m.Run("bulletin", big, "a.test")).Ok(); // as vpopbull: quotas ignored
        Assert.Contains("delivered to 1 users, 1 had it already", r.Out);
        Assert.Single(Copies("ann@a.test"));
        Assert.Single(Copies("full@a.test"));
        Assert.Empty(Copies("nomail@a.test"));
    }

    [Fact]
    public async Task Vpopbull_flags()
    {
        await UsersAsync("a.test", "ann", "bob");
        await UsersAsync("b.test", "cy");
        var file = Write("n.txt", "Subject: s\n\nbody\n");
        var exclude = Write("x.txt", "bob@a.test\n");
        var listed = (await _m.Run("vpopbull", "-n", "-e", exclude)).Ok();
        Assert.Equal(["ann@a.test", "cy@b.test"], listed.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
        Assert.Empty(Copies("ann@a.test"));
        var r = (await _m.RunAs("vpopbull", "-V", "-h", "-f", file, "-e", exclude, "a.test")).Ok(); // as a link named vpopbull
        Assert.Contains("-h ignored", r.Err);
        Assert.Contains("ann@a.test\n", r.Out);
        Assert.Single(Copies("ann@a.test"));
        Assert.Empty(Copies("bob@a.test"));
        Assert.Empty(Copies("cy@b.test"));
        (await _m.Run("vpopbull", "-f", file)).Ok(); // no domain: every domain; the same bulletin goes on
        Assert.Single(Copies("ann@a.test"));
        Assert.Single(Copies("bob@a.test"));
        Assert.Single(Copies("cy@b.test"));
        Assert.Equal(1, (await _m.Run("vpopbull", "a.test")).Code); // -f missing
        Assert.Contains("usage: vpopbull", (await _m.Run("vpopbull")).Out);
    }

    [Fact]
    public void The_progress_bar_shows_done_rate_and_time_left()
    {
        var bar = new ProgressBar(TextWriter.Null, "users");
        Assert.Equal("[###############...............] 500/1000  50%  250 users/s  ETA 0:02   ", bar.Render(500, 1000, TimeSpan.FromSeconds(2)));
        Assert.Contains("1000/1000 100%", bar.Render(1000, 1000, TimeSpan.FromSeconds(4)));
        Assert.EndsWith("done   ", bar.Render(1000, 1000, TimeSpan.FromSeconds(4)));
        var time = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        var text = new StringWriter();
        var drawn = new ProgressBar(text, "users", time);
        drawn.Report(0, 10);
        drawn.Report(1, 10); // within 100 ms: not redrawn
        time.Advance(TimeSpan.FromSeconds(1));
        drawn.Report(5, 10);
        drawn.Report(10, 10); // the last one always
        Assert.Equal(3, text.ToString().Count(c => c == '\r'));
        Assert.EndsWith("\n", text.ToString());
    }

    [Fact]
    public async Task Killed_half_way_and_run_again_nobody_gets_a_second_copy()
    {
        // 1,000 users over four domains; every seventh excluded.
        var all = new List<string>();
        for (var d = 0; d < 4; d++)
        {
            (await _m.Run("domain", "add", $"d{d}.test", "--no-postmaster")).Ok();
            for (var i = 0; i < 250; i++)
            {
                var a = $"user{i}@d{d}.test";
                await _m.Admin().AddUserAsync(Actor.System, a, new PasswordInput.NoPassword());
                all.Add(a);
            }
        }
        var excluded = all.Where((_, i) => i % 7 == 3).ToHashSet();
        var exclude = Write("exclude.txt", string.Join('\n', excluded) + "\n");
        var file = Write("notice.txt", "From: admin@d0.test\nSubject: new terms\n\n" + string.Concat(Enumerable.Repeat("Please read the new terms of service.\n", 50)));
        var folder = BulletinJournal.FolderOf(_m.Data);

        var psi = new ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "mailward")) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // One user at a time, each committed with its own fsync: the poll below must see 200 committed
        // before the run ends. With batches of 64, and then of 8 at four at once, the run twice finished
        // between two polls in the clean-clone run (the suite on two cores, 857 users in 1.0 s).
        foreach (var a in (string[])["--data", _m.Data, "--Bulletin:BatchSize=1", "--Bulletin:Concurrency=1", "bulletin", file, "--all", "-e", exclude])
            psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_EnableDiagnostics"] = "0";
        int committed;
        using (var child = Process.Start(psi)!)
        {
            // Kill it once a few batches are committed and before the last.
            var sw = Stopwatch.StartNew();
            while (true)
            {
                committed = DLines(folder);
                if (committed >= 200 || child.HasExited || sw.Elapsed > TimeSpan.FromSeconds(120))
                    break;
                await Task.Delay(2);
            }
            if (child.HasExited)
                Assert.Fail("the bulletin finished before it could be killed: " + await child.StandardOutput.ReadToEndAsync());
            child.Kill(); // SIGKILL
            await child.WaitForExitAsync();
        }
        committed = DLines(folder);
        output.WriteLine($"killed with {committed} of {all.Count - excluded.Count} users committed");
        Assert.InRange(committed, 200, all.Count - excluded.Count - 1);

        var again = (await _m.Run("bulletin", file, "--all", "-e", exclude)).Ok();
        output.WriteLine(again.Out);
        Assert.Contains("resuming", again.Out);
        Assert.DoesNotContain("not finished", again.Out);
        foreach (var a in all)
        {
            var n = Copies(a).Length;
            Assert.True(n == (excluded.Contains(a) ? 0 : 1), $"{a}: {n} copies");
            Assert.Empty(Directory.GetFiles(Path.Combine(Maildir(a), "tmp")));
        }
        Assert.Contains("nothing to do", (await _m.Run("bulletin", file, "--all", "-e", exclude)).Ok().Out);
    }

    private static int DLines(string folder)
    {
        if (!Directory.Exists(folder))
            return 0;
        var n = 0;
        foreach (var f in Directory.GetFiles(folder, "*.journal"))
        {
            using var s = new FileStream(Core.Posix.Libc.Open(f, Core.Posix.Libc.ORdOnly), FileAccess.Read); // no FileStream lock: the run holds flock
            using var r = new StreamReader(s);
            while (r.ReadLine() is { } line)
                if (line.StartsWith("D ", StringComparison.Ordinal))
                    n++;
        }
        return n;
    }
}
