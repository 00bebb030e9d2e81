// Bounds on what parsing one message may build (issue 12 item 8: MIME bombs parsed in bounded
// time). Beyond a limit the rest of a part is kept as one opaque leaf, as Dovecot does, never an
// error. The defaults and their reasons are the Imap:Max* entries of SettingsCatalog.
namespace Mailward.Core.MailStore.Structure;

public sealed record StructureLimits(int MaxDepth = 100, int MaxParts = 10000, int MaxParameters = 64, int MaxAddresses = 1000, int MaxHeaderBytes = 65536)
{
    public static StructureLimits Default { get; } = new();
}
