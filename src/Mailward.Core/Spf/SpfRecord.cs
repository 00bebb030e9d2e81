// An SPF record parsed whole before it is evaluated (RFC 7208 §4.6: a syntax error anywhere is a
// permerror, whatever would have matched first): "v=spf1", then terms separated by spaces, each a
// directive ([qualifier] mechanism, §5) or a modifier (name=value, §6). Domain-specs are checked
// for macro syntax (§7.1) and for their end (a top label or a macro, §7.1's domain-end) here;
// their expansion happens at evaluation.
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Mailward.Core.Spf;

internal enum SpfMechanismKind
{
    All,
    Include,
    A,
    Mx,
    Ptr,
    Ip4,
    Ip6,
    Exists,
}

/// <param name="DomainSpec">The macro-string after ':' (null when absent: the current domain).</param>
/// <param name="Network">ip4 and ip6: the network.</param>
/// <param name="Cidr4">a and mx: the IPv4 prefix length (32 when absent).</param>
/// <param name="Cidr6">a and mx: the IPv6 prefix length (128 when absent).</param>
internal sealed record SpfMechanism(SpfResult Qualifier, SpfMechanismKind Kind, string Text, string? DomainSpec = null, IPNetwork? Network = null,
    int Cidr4 = 32, int Cidr6 = 128);

internal sealed partial class SpfRecord(IReadOnlyList<SpfMechanism> terms, string? redirectSpec, string? explanationSpec)
{
    public IReadOnlyList<SpfMechanism> Mechanisms => terms;

    /// <summary>redirect='s domain-spec, unexpanded.</summary>
    public string? Redirect => redirectSpec;

    /// <summary>exp='s domain-spec, unexpanded.</summary>
    public string? Explanation => explanationSpec;

    /// <summary>§4.5: "v=spf1" alone or followed by a space, in any case.</summary>
    public static bool IsSpf(string text) =>
        text.StartsWith("v=spf1", StringComparison.OrdinalIgnoreCase) && (text.Length == 6 || text[6] == ' ');

    /// <summary>Parses a record selected by <see cref="IsSpf"/>; throws <see cref="SpfPermErrorException"/> on any syntax error.</summary>
    public static SpfRecord Parse(string text)
    {
        var mechanisms = new List<SpfMechanism>();
        string? redirect = null, explanation = null;
        foreach (var term in text[6..].Split(' ', StringSplitOptions.RemoveEmptyEntries)) // §4.6.1: 1*SP between terms
        {
            if (ModifierName().Match(term) is { Success: true } m)
            {
                var name = m.Groups[1].Value.ToLowerInvariant();
                var value = term[m.Length..];
                switch (name)
                {
                    case "redirect":
                        if (redirect is not null)
                            throw new SpfPermErrorException("redirect= appears more than once"); // §6
                        redirect = DomainSpec(value, term);
                        break;
                    case "exp":
                        if (explanation is not null)
                            throw new SpfPermErrorException("exp= appears more than once");
                        explanation = DomainSpec(value, term);
                        break;
                    default:
                        SpfMacro.Validate(value, inExplanation: false, term); // §6: unknown modifiers are ignored, but must parse
                        break;
                }
                continue;
            }
            mechanisms.Add(Mechanism(term));
        }
        return new SpfRecord(mechanisms, redirect, explanation);
    }

    private static SpfMechanism Mechanism(string term)
    {
        var qualifier = term[0] switch
        {
            '+' => SpfResult.Pass,
            '-' => SpfResult.Fail,
            '~' => SpfResult.SoftFail,
            '?' => SpfResult.Neutral,
            _ => (SpfResult?)null,
        };
        var rest = qualifier is null ? term : term[1..];
        // The dual-cidr-length (§5.6) comes off the end first: "/6" for IPv6 after "//", then "/4".
        int? cidr6 = null, cidr4 = null;
        if (DualCidr().Match(rest) is { Success: true } d)
        {
            cidr6 = Length(d.Groups[1].Value, 128, term);
            rest = rest[..d.Index];
        }
        if (Cidr().Match(rest) is { Success: true } c)
        {
            cidr4 = Length(c.Groups[1].Value, 128, term);
            rest = rest[..c.Index];
        }
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        var name = (colon < 0 ? rest : rest[..colon]).ToLowerInvariant();
        var argument = colon < 0 ? null : rest[(colon + 1)..];
        var q = qualifier ?? SpfResult.Pass;
        switch (name)
        {
            case "all":
                NoArgument(argument, cidr4, cidr6, term);
                return new SpfMechanism(q, SpfMechanismKind.All, term);
            case "include":
            case "exists":
                if (argument is null || cidr4 is not null || cidr6 is not null)
                    throw new SpfPermErrorException($"{name} needs a domain and takes no prefix length: {term}");
                return new SpfMechanism(q, name == "include" ? SpfMechanismKind.Include : SpfMechanismKind.Exists, term, DomainSpec(argument, term));
            case "ptr":
                if (cidr4 is not null || cidr6 is not null)
                    throw new SpfPermErrorException($"ptr takes no prefix length: {term}");
                return new SpfMechanism(q, SpfMechanismKind.Ptr, term, argument is null ? null : DomainSpec(argument, term));
            case "a":
            case "mx":
                if (cidr4 > 32)
                    throw new SpfPermErrorException($"IPv4 prefix length over 32: {term}");
                if (argument is not null && Ip4Text().IsMatch(argument))
                    throw new SpfPermErrorException($"an address where a domain belongs (use ip4): {term}");
                return new SpfMechanism(q, name == "a" ? SpfMechanismKind.A : SpfMechanismKind.Mx, term, argument is null ? null : DomainSpec(argument, term),
                    Cidr4: cidr4 ?? 32, Cidr6: cidr6 ?? 128);
            case "ip4":
                if (argument is null || cidr6 is not null || cidr4 > 32 || !Ip4Text().IsMatch(argument))
                    throw new SpfPermErrorException($"bad ip4: {term}");
                return new SpfMechanism(q, SpfMechanismKind.Ip4, term, Network: Network(IPAddress.Parse(argument), cidr4 ?? 32));
            case "ip6":
                if (argument is null || cidr6 is not null || argument.Contains('%', StringComparison.Ordinal) || !argument.Contains(':', StringComparison.Ordinal) ||
                    !IPAddress.TryParse(argument, out var six) || six.AddressFamily != AddressFamily.InterNetworkV6)
                    throw new SpfPermErrorException($"bad ip6: {term}");
                return new SpfMechanism(q, SpfMechanismKind.Ip6, term, Network: Network(six, cidr4 ?? 128));
            default:
                throw new SpfPermErrorException($"unknown mechanism: {term}");
        }
    }

    /// <summary>The network of <paramref name="address"/> with its low bits cleared.</summary>
    internal static IPNetwork Network(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (var bit = prefix; bit < bytes.Length * 8; bit++)
            bytes[bit / 8] &= (byte)~(0x80 >> (bit % 8));
        return new IPNetwork(new IPAddress(bytes), prefix);
    }

    private static void NoArgument(string? argument, int? cidr4, int? cidr6, string term)
    {
        if (argument is not null || cidr4 is not null || cidr6 is not null)
            throw new SpfPermErrorException($"all takes nothing: {term}");
    }

    private static int Length(string digits, int max, string term) =>
        digits.Length <= 3 && int.TryParse(digits, out var n) && n <= max ? n : throw new SpfPermErrorException($"bad prefix length: {term}");

    /// <summary>§7.1: a macro-string ending in a top label (with an optional dot) or a macro.</summary>
    private static string DomainSpec(string spec, string term)
    {
        if (spec.Length == 0)
            throw new SpfPermErrorException($"empty domain: {term}");
        SpfMacro.Validate(spec, inExplanation: false, term);
        var ends = DomainEnd().Matches(spec);
        if (ends.Count == 0 || ends[^1].Index + ends[^1].Length != spec.Length)
            throw new SpfPermErrorException($"the domain must end in a top label or a macro: {term}");
        return spec;
    }

    // §12: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ).
    [GeneratedRegex(@"^([A-Za-z][A-Za-z0-9_.\-]*)=")]
    private static partial Regex ModifierName();

    [GeneratedRegex(@"//(0|[1-9][0-9]*)$")]
    private static partial Regex DualCidr();

    [GeneratedRegex(@"/(0|[1-9][0-9]*)$")]
    private static partial Regex Cidr();

    // §12: ip4-network = qnum "." qnum "." qnum "." qnum, each 0-255 without leading zeros.
    [GeneratedRegex(@"^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}$")]
    private static partial Regex Ip4Text();

    // §7.1: domain-end = ( "." toplabel [ "." ] ) / macro-expand; toplabel as RFC 3696 §2.
    [GeneratedRegex(@"\.(?:[0-9a-z]*[a-z][0-9a-z]*|[0-9a-z]+-[0-9a-z-]*[0-9a-z])\.?$|%(?:%|_|-|\{[^}]*\})", RegexOptions.IgnoreCase)]
    private static partial Regex DomainEnd();
}

/// <summary>A permanent error (§2.6.7): the evaluation stops with permerror.</summary>
public sealed class SpfPermErrorException(string message) : Exception(message);

/// <summary>A temporary error (§2.6.6), a DNS failure or the deadline: the evaluation stops with temperror.</summary>
public sealed class SpfTempErrorException(string message) : Exception(message);
