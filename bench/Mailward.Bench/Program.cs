// Benchmark entry: `dotnet run -c Release --project bench/Mailward.Bench -- accounts [options]`.
using Mailward.Bench;

return args.FirstOrDefault() switch
{
    "accounts" => AccountsBenchmark.Run(args.Skip(1).ToArray()),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Mailward.Bench accounts [--users N] [--domains N] [--lookups N] [--commands N] [--data DIR]");
    return 1;
}
