// Checks a forwarding target (an address anywhere on the internet). Remote local parts keep their
// case and may use characters a hosted mailbox may not, but never spaces, controls or brackets.
namespace Mailward.Core.Addresses;

public static class ForwardAddress
{
    public static bool TryNormalize(string? input, out string address, out string error)
    {
        address = "";
        error = "";
        var s = input?.Trim() ?? "";
        var at = s.LastIndexOf('@');
        if (at <= 0 || at == s.Length - 1)
        {
            error = $"not an address of the form user@domain: {s}";
            return false;
        }
        var local = s[..at];
        if (local.Length > LocalPart.MaxLength || local.Any(c => c <= ' ' || c >= 0x7f || "<>()[],;:\\\"@".Contains(c, StringComparison.Ordinal)))
        {
            error = $"illegal forwarding address: {s}";
            return false;
        }
        if (!DomainName.TryNormalize(s[(at + 1)..], out var domain, out error))
            return false;
        address = $"{local}@{domain}";
        return true;
    }
}
