// A label whose values come from strings the code passes on (a refusal's reason, a login's
// service): made Prometheus-friendly (lower case, '_' for anything else) and capped, so that a
// value no table foresaw cannot grow the series without bound; past the cap every new one is "other".
using System.Collections.Concurrent;

namespace Mailward.Core.Metrics;

public sealed class BoundedLabel(int max)
{
    private readonly ConcurrentDictionary<string, string> _known = new(StringComparer.Ordinal);

    public string Of(string value)
    {
        if (_known.TryGetValue(value, out var label))
            return label;
        if (_known.Count >= max)
            return "other";
        return _known.GetOrAdd(value, Clean);
    }

    /// <summary>"user unknown" → "user_unknown"; at most 40 characters.</summary>
    public static string Clean(string value)
    {
        var chars = value.Trim().ToLowerInvariant().Select(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') ? c : '_').Take(40).ToArray();
        return chars.Length == 0 ? "none" : new string(chars);
    }
}
