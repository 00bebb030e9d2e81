// Benchmark entry: `dotnet run -c Release --project bench/Mailward.Bench -- accounts [options]`.
using Mailward.Bench;

return args.FirstOrDefault() switch
{
    "accounts" => AccountsBenchmark.Run(args.Skip(1).ToArray()),
    "smtp" => SmtpLoad.Run(args.Skip(1).ToArray()),
    "pop3" => Pop3Load.Run(args.Skip(1).ToArray()),
    "imap" => ImapLoad.Run(args.Skip(1).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Mailward.Bench accounts [--users N] [--domains N] [--lookups N] [--commands N] [--data DIR]");
    Console.Error.WriteLine("       Mailward.Bench smtp [--host H] [--port P] [--messages N] [--size BYTES] [--concurrency N] [--rcpt a@x,b@y] [--from ADDR] [--seconds LIMIT]");
    Console.Error.WriteLine("       Mailward.Bench pop3 retrieve|logins --users a@x,b@y [--password P] [--host H] [--port P] [--concurrency N] [--rounds N] [--seconds S]");
    Console.Error.WriteLine("       Mailward.Bench imap fetch|select|search|logins|idle|fill ... (see ImapLoad.cs)");
    return 1;
}
