// getopt(3) as GNU libc runs it for the vpopmail tools: bundled flags (-ab), attached or separate
// values (-q10M, -q 10M), optional attached values ("r::", as in -r12), operands anywhere before
// "--". System.CommandLine cannot express "-r[len]", and old scripts rely on exactly this.
using Mailward.Cli;

namespace Mailward.Vpopmail;

public sealed class Getopt
{
    private readonly Dictionary<char, int> _spec = []; // 0 flag, 1 required value, 2 optional attached value

    public Getopt(string optstring)
    {
        for (var i = 0; i < optstring.Length; i++)
        {
            var c = optstring[i];
            var kind = 0;
            if (i + 1 < optstring.Length && optstring[i + 1] == ':')
            {
                kind = i + 2 < optstring.Length && optstring[i + 2] == ':' ? 2 : 1;
                i += kind;
            }
            _spec[c] = kind;
        }
    }

    public sealed record Result(IReadOnlyList<(char Option, string? Value)> Options, IReadOnlyList<string> Operands)
    {
        public bool Has(char c) => Options.Any(o => o.Option == c);
        public string? Value(char c) => Options.LastOrDefault(o => o.Option == c).Value;
    }

    public Result Parse(IReadOnlyList<string> args)
    {
        var options = new List<(char, string?)>();
        var operands = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            if (a == "--")
            {
                operands.AddRange(args.Skip(i + 1));
                break;
            }
            if (a.Length < 2 || a[0] != '-')
            {
                operands.Add(a);
                continue;
            }
            for (var j = 1; j < a.Length; j++)
            {
                var c = a[j];
                if (!_spec.TryGetValue(c, out var kind))
                    throw new UsageException($"invalid option -- '{c}'");
                if (kind == 0)
                {
                    options.Add((c, null));
                    continue;
                }
                var attached = j + 1 < a.Length ? a[(j + 1)..] : null;
                if (kind == 2)
                    options.Add((c, attached));
                else if (attached is not null)
                    options.Add((c, attached));
                else if (i + 1 < args.Count)
                    options.Add((c, args[++i]));
                else
                    throw new UsageException($"option requires an argument -- '{c}'");
                break;
            }
        }
        return new Result(options, operands);
    }
}
