// sendmail's exit statuses (sysexits.h), which programs and cron read: 0 only once the message is
// safe (queued and fsynced, or in the pickup folder and fsynced). docs/pickup-format.md lists when.
namespace Mailward.Core.Sendmail;

public static class SendmailExit
{
    public const int Ok = 0;
    public const int Usage = 64;       // EX_USAGE
    public const int DataError = 65;   // EX_DATAERR
    public const int NoUser = 67;      // EX_NOUSER
    public const int Software = 70;    // EX_SOFTWARE
    public const int OsError = 71;     // EX_OSERR
    public const int CantCreate = 73;  // EX_CANTCREAT
    public const int IoError = 74;     // EX_IOERR
    public const int TempFail = 75;    // EX_TEMPFAIL
    public const int NoPermission = 77; // EX_NOPERM
}

/// <summary>What became of a submission: the exit status, a line for stderr (or the log), the queue id when queued.</summary>
public sealed record SendmailOutcome(int ExitCode, string Message, string? QueueId = null, IReadOnlyList<string>? Warnings = null)
{
    public bool Queued => ExitCode == SendmailExit.Ok;
}
