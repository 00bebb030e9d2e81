// `Mailward.Bench store`: the mail store's share of an IMAP SELECT and metadata FETCH, timed in
// process without a socket (fill a folder, open it the first time, again, cached; SEARCH TEXT's scan
// of each file; structures and rendered ENVELOPE/BODYSTRUCTURE the first and second time), to see
// where a row's time goes.
using System.Diagnostics;
using System.Globalization;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Protocols.Imap.Fetch;

namespace Mailward.Bench;

public static class StoreProfile
{
    /// <summary>--allocations: the bytes each timed phase allocated, by type (sampled by the runtime).</summary>
    private static AllocationTicks? Ticks;

    public static int Run(string[] args)
    {
        var count = 2000;
        var pause = false; // --pause: waits for a line on stdin after the fill, so a profiler can attach for what follows
        string? only = null; // --only PREFIX: only the phases whose names start so are run, for a profile of those alone
        var again = 3; // --again N: how many times the first open is timed again with the list and log removed
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--count" && i + 1 < args.Length)
                count = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--pause")
                pause = true;
            else if (args[i] == "--again" && i + 1 < args.Length)
                again = int.Parse(args[++i], CultureInfo.InvariantCulture);
            else if (args[i] == "--only" && i + 1 < args.Length)
                only = args[++i];
            else if (args[i] == "--allocations")
                Ticks = new AllocationTicks();
            else
                throw new ArgumentException("unknown option " + args[i]);
        }
        var root = Directory.CreateTempSubdirectory("mailward-storeprofile").FullName;
        try
        {
            var layout = new MailStoreLayout(root, 100);
            // The first folder warms the JIT (a running server has compiled these paths); the second is timed.
            foreach (var (name, report) in new[] { ("warm", false), ("meta", true) })
            {
                var owner = new MailboxOwner(name + "@bench.test", "bench.test/" + name);
                var maildir = MailStoreLayout.MaildirOf(layout.Resolve(owner.Directory));
                ImapLoad.FillQuiet(maildir, report ? count : Math.Min(count, 2000));
                if (pause && report)
                {
                    Console.WriteLine($"filled; pid {Environment.ProcessId}; press enter");
                    Console.ReadLine();
                }
                Only = report ? only : null;
                Phases(layout, owner, report, again);
            }
            return 0;
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    private static void Phases(MailStoreLayout layout, MailboxOwner owner, bool report, int again)
    {
        Time(report, "first open (UIDs assigned)", () => Open(layout, owner).Dispose());
        Time(report, "open, new store", () => Open(layout, owner).Dispose());
        var folder = MailStoreLayout.MaildirOf(layout.Resolve(owner.Directory));
        for (var round = 0; round < again; round++)
        {
            // The first open again, with nothing of ours left but the files: warm code, the row a profiler wants.
            File.Delete(Path.Combine(folder, UidList.FileName));
            File.Delete(Path.Combine(folder, "mailward-modseq")); // ModSeqLog.FileName (internal)
            Time(report, "first open again, list and log removed", () => Open(layout, owner).Dispose());
        }
        var store = new MaildirStore(layout, "bench", "bench.test");
        using (Open(store, owner)) { }
        Thread.Sleep(2100); // the listing cache keeps settled folders only
        using (Open(store, owner)) { }
        Time(report, "open, listing cached", () => Open(store, owner).Dispose());
        Time(report, "open, listing cached, 1,000 times", () =>
        {
            for (var i = 0; i < 1000; i++)
                Open(store, owner).Dispose();
        });
        var files = Directory.GetFiles(Path.Combine(MailStoreLayout.MaildirOf(layout.Resolve(owner.Directory)), "cur")).Select(File.ReadAllBytes).ToList();
        Time(report, "parse only, from memory", () =>
        {
            foreach (var bytes in files)
                Mailward.Core.MailStore.Structure.StructureParser.Parse(new MemoryStream(bytes));
        });
        Time(report, "MimeKit MimeParser only, from memory", () =>
        {
            foreach (var bytes in files)
                MimeKit.MimeMessage.Load(new MemoryStream(bytes));
        });
        var paths = Directory.GetFiles(Path.Combine(MailStoreLayout.MaildirOf(layout.Resolve(owner.Directory)), "cur"));
        Time(report, "parse each file (open, read, close)", () =>
        {
            foreach (var path in paths)
                using (var reader = new MessageReader(File.OpenHandle(path)))
                    Mailward.Core.MailStore.Structure.StructureParser.Parse(reader).GetHashCode();
        });
        var needles = new[] { new Mailward.Protocols.Imap.Search.TextNeedle("NEEDLE", HeadersToo: true) };
        // As SEARCH reads a message of up to 256 KB: whole, then scanned from memory (without the raw check before).
        Time(report, "TEXT scan of each file (MessageTextSearch)", () =>
        {
            var hits = 0;
            foreach (var path in paths)
                hits += Mailward.Protocols.Imap.Search.MessageTextSearch.Find(new MemoryStream(File.ReadAllBytes(path), writable: false), needles)[0] ? 1 : 0;
            GC.KeepAlive(hits);
        });
        Time(report, "structures, first", () => Structures(store, owner, render: false));
        Time(report, "structures, again (new object)", () => Structures(store, owner, render: false));
        Time(report, "structures + render", () => Structures(store, owner, render: true));
        using (var held = Open(store, owner))
            Time(report, "structures + render, cache held", () => Structures(store, owner, render: true));
    }

    private static IMailbox Open(IMailStore store, MailboxOwner owner) => store.OpenAsync(owner).GetAwaiter().GetResult();

    private static IMailbox Open(MailStoreLayout layout, MailboxOwner owner) => Open(new MaildirStore(layout, "bench", "bench.test"), owner);

    private static void Structures(IMailStore store, MailboxOwner owner, bool render)
    {
        using var box = Open(store, owner);
        long bytes = 0;
        foreach (var e in box.Entries)
        {
            var s = box.StructureAsync(e.Uid).GetAwaiter().GetResult() ?? throw new InvalidOperationException("no structure");
            if (render)
                bytes += EnvelopeWriter.Envelope(s).Length + BodyStructureWriter.BodyStructure(s, extensible: true).Length;
        }
        GC.KeepAlive(bytes);
    }

    /// <summary>--only: the prefix of the phases to run; the others are left out (null: all).</summary>
    private static string? Only;

    private static void Time(bool report, string what, Action action)
    {
        if (Only is not null && !what.StartsWith(Only, StringComparison.Ordinal))
            return;
        if (!report)
        {
            action();
            return;
        }
        Ticks?.Print(); // what came before, dropped
        if (Ticks is not null)
            Ticks.On = true;
        var process = Process.GetCurrentProcess();
        var (user, system) = (process.UserProcessorTime, process.PrivilegedProcessorTime);
        var (gen0, gen1, gen2, paused) = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        action();
        process.Refresh();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{what,-36} {clock.Elapsed.TotalMilliseconds,10:F1} ms  user {(process.UserProcessorTime - user).TotalMilliseconds,8:F0} ms  system {(process.PrivilegedProcessorTime - system).TotalMilliseconds,8:F0} ms"
            + $"  GCs {GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2} paused {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds:F0} ms"
            + $"  allocated {(GC.GetTotalAllocatedBytes(precise: true) - allocated) / 1e6:F1} MB"));
        if (Ticks is not null)
        {
            Ticks.On = false;
            Ticks.Print();
        }
    }
}
