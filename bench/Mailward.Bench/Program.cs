// Benchmark entry: `dotnet run -c Release --project bench/Mailward.Bench -- accounts [options]`.
// `--help` (or -h) after a benchmark's name prints its usage; a bad option prints the problem and
// the usage instead of an unhandled exception.
using Mailward.Bench;

var usages = new Dictionary<string, string[]>(StringComparer.Ordinal)
{
    ["accounts"] = ["Mailward.Bench accounts [--users N] [--domains N] [--lookups N] [--commands N] [--data DIR] [--postgres CONNECTION] [--checkpoints N,N,...] [--bulk] [--add-sample N] [--postgres-only]"],
    ["smtp"] = ["Mailward.Bench smtp [--host H] [--port P] [--messages N] [--size BYTES] [--concurrency N] [--rcpt a@x,b@y] [--from ADDR] [--seconds LIMIT] [--spread] [--message FILE] [--bind ADDR]"],
    ["dns"] = ["Mailward.Bench dns [--address A] [--port P] [--record NAME TYPE VALUE]... [--seconds LIMIT]   (prints ENDPOINT a:p, answers until killed or LIMIT)"],
    ["pop3"] = ["Mailward.Bench pop3 retrieve|logins --users a@x,b@y [--password P] [--host H] [--port P] [--concurrency N] [--rounds N] [--seconds S]"],
    ["imap"] =
    [
        "Mailward.Bench imap fetch|select|search|logins|idle|fill [--host H] [--port P] --users a@x,b@y [--password P] [--folder F]",
        "         [--items ITEMS] [--criteria C] [--rounds N] [--concurrency N] [--sessions N] [--deliveries N]",
        "         [--deliver smtp:PORT|maildirs:FILE] [--server-pid PID] [--seconds LIMIT]   fill: --maildir DIR --count N",
    ],
    ["store"] = ["Mailward.Bench store [--count N] [--pause] [--only PHASE-PREFIX] [--again N] [--allocations]"],
};

var command = args.FirstOrDefault();
if (command is null || !usages.TryGetValue(command, out var usage))
{
    var help = command is "--help" or "-h" or "help";
    var to = help ? Console.Out : Console.Error;
    var first = true;
    foreach (var line in usages.Values.SelectMany(u => u))
    {
        to.WriteLine((first ? "usage: " : "       ") + line);
        first = false;
    }
    return help ? 0 : 1;
}
var rest = args.Skip(1).ToArray();
if (rest.Any(a => a is "--help" or "-h"))
{
    PrintUsage(Console.Out, usage);
    return 0;
}
try
{
    return command switch
    {
        "accounts" => AccountsBenchmark.Run(rest),
        "smtp" => SmtpLoad.Run(rest),
        "dns" => DnsServe.Run(rest),
        "pop3" => Pop3Load.Run(rest),
        "store" => StoreProfile.Run(rest),
        _ => ImapLoad.Run(rest),
    };
}
catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
{
    Console.Error.WriteLine($"Mailward.Bench {command}: {e.Message}");
    PrintUsage(Console.Error, usage);
    return 1;
}

static void PrintUsage(TextWriter to, string[] usage)
{
    for (var i = 0; i < usage.Length; i++)
        to.WriteLine((i == 0 ? "usage: " : "") + usage[i]);
}
