// Who may run sendmail and who may choose the envelope sender (Sendmail:AllowedUsers,
// Sendmail:TrustedUsers). A list names local users by login or uid; "*" is everyone. Trusted users
// are by default root and the server's own user, as Postfix and sendmail trust root and the mail
// system's user; everyone else sends as login@Sendmail:DefaultDomain.
namespace Mailward.Core.Sendmail;

public sealed class SendmailRules(string allowedUsers, string trustedUsers, uint serverUid)
{
    private readonly string[] _allowed = Split(allowedUsers);
    private readonly string[] _trusted = Split(trustedUsers);

    private static string[] Split(string list) => list.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public bool MayRun(uint uid, string login) => Names(_allowed, uid, login);

    /// <summary>May set any envelope sender (-f) and speak SMTP (-bs).</summary>
    public bool IsTrusted(uint uid, string login) =>
        _trusted.Length == 0 ? uid == 0 || uid == serverUid : Names(_trusted, uid, login);

    private static bool Names(string[] list, uint uid, string login) =>
        list.Any(e => e == "*" || e.Equals(login, StringComparison.Ordinal) || (uint.TryParse(e, out var n) && n == uid));
}
