// A normalised user@domain address as the account store keys it. Login forms user@domain and
// user%domain (vchkpw) are accepted by Parse; the bare-user form is resolved by the caller.
namespace Mailward.Core.Addresses;

public readonly record struct MailAddress(string Local, string Domain)
{
    public override string ToString() => $"{Local}@{Domain}";

    public static bool TryParse(string? input, out MailAddress address, out string error)
    {
        address = default;
        error = "";
        if (string.IsNullOrWhiteSpace(input))
        {
            error = "empty address";
            return false;
        }
        var s = input.Trim();
        var at = s.LastIndexOf('@');
        if (at < 0)
            at = s.LastIndexOf('%');
        if (at <= 0 || at == s.Length - 1)
        {
            error = $"not an address of the form user@domain: {s}";
            return false;
        }
        if (!LocalPart.TryNormalize(s[..at], out var local, out error))
            return false;
        if (!DomainName.TryNormalize(s[(at + 1)..], out var domain, out error))
            return false;
        address = new MailAddress(local, domain);
        return true;
    }

    public static MailAddress Parse(string input)
    {
        if (TryParse(input, out var a, out var e))
            return a;
        var error = e.Contains("domain", StringComparison.Ordinal) ? Accounts.AccountError.IllegalDomain
            : e.Contains("too long", StringComparison.Ordinal) ? Accounts.AccountError.NameTooLong
            : Accounts.AccountError.IllegalUser;
        throw new Accounts.AccountException(error, e);
    }
}
