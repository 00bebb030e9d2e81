// The settings of DKIM verification at the door and signing on the way out (Dkim:*), read and validated in one place
// (docs/mail-auth.md, "DKIM").
using Mailward.Core.Configuration;

namespace Mailward.Core.Dkim;

/// <param name="Verify">Verify the signatures of mail from strangers at the end of DATA.</param>
/// <param name="MaxSignatures">RFC 6376 §6.1: a verifier may limit the signatures it checks; the rest are ignored.</param>
/// <param name="MaxHeaderBytes">The header block read into memory to verify or sign; a longer one is not verified (neutral) and not signed.</param>
/// <param name="Deadline">The whole verification of one message, key lookups included; then the rest are temperror.</param>
public sealed record DkimOptions(bool Verify, int MaxSignatures, int MaxHeaderBytes, TimeSpan Deadline)
{
    public static DkimOptions Default { get; } = new(true, 5, 256 * 1024, TimeSpan.FromSeconds(20));

    public static DkimOptions From(MailwardSettings s) => new(
        s.GetBool("Dkim:Verify"),
        s.GetInt("Dkim:MaxSignatures", 1, 100),
        s.GetInt("Dkim:MaxHeaderBytes", 1024, 64 * 1024 * 1024),
        TimeSpan.FromSeconds(s.GetInt("Dkim:DeadlineSeconds", 1, 300)));
}
