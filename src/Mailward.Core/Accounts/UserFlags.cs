// Per-user service flags. The bit values are vpopmail's (vpopmail.h, the pw_gid field), so flags
// imported from a vpasswd file or set by old scripts mean the same thing here.
namespace Mailward.Core.Accounts;

[Flags]
public enum UserFlags
{
    None = 0,
    NoPasswordChange = 0x01,   // vmoduser -d
    NoPop = 0x02,              // -p
    NoWebmail = 0x04,          // -w
    NoImap = 0x08,             // -i
    BounceMail = 0x10,         // -b
    NoRelay = 0x20,            // -r: no roaming, no relay to external domains
    NoDialup = 0x40,           // -u
    NoSmtp = 0x800,            // -s: no SMTP AUTH
    DomainAdmin = 0x1000,      // -a: qmailadmin administrator of the user's domain
    NoLimits = 0x2000,         // -o: not subject to domain limits (V_OVERRIDE)
    SystemAdmin = 0x10000,     // -S: administrator of all domains
    Expert = 0x20000,          // -E: may edit delivery instructions
}

public static class UserFlagNames
{
    /// <summary>Names used by `mailward user mod --set/--unset` and shown by `user info`.</summary>
    public static readonly IReadOnlyDictionary<string, UserFlags> ByName = new Dictionary<string, UserFlags>(StringComparer.OrdinalIgnoreCase)
    {
        ["no-password-change"] = UserFlags.NoPasswordChange,
        ["no-pop"] = UserFlags.NoPop,
        ["no-webmail"] = UserFlags.NoWebmail,
        ["no-imap"] = UserFlags.NoImap,
        ["bounce-mail"] = UserFlags.BounceMail,
        ["no-relay"] = UserFlags.NoRelay,
        ["no-dialup"] = UserFlags.NoDialup,
        ["no-smtp"] = UserFlags.NoSmtp,
        ["domain-admin"] = UserFlags.DomainAdmin,
        ["no-limits"] = UserFlags.NoLimits,
        ["system-admin"] = UserFlags.SystemAdmin,
        ["expert"] = UserFlags.Expert,
    };

    public static string Format(UserFlags flags) =>
        flags == UserFlags.None ? "none" : string.Join(",", ByName.Where(kv => flags.HasFlag(kv.Value)).Select(kv => kv.Key));

    public static UserFlags Parse(string name) =>
        ByName.TryGetValue(name, out var f) ? f
        : throw new AccountException(AccountError.InvalidArgument, $"unknown flag '{name}'; known flags: {string.Join(", ", ByName.Keys)}");
}
