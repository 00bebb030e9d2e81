// Maildir++ quotas (the maildirsize file, as Courier, vpopmail and Dovecot keep it): the first line
// is the quota ("52428800S,1000C"), each further line a change "bytes count". Delivery appends a
// line per message; a file grown past 5,120 bytes, or a missing one, is recalculated by walking the
// Maildir and rewritten as one line, so reading it stays cheap.
using System.Globalization;
using System.Text;
using Mailward.Core.Accounts;

namespace Mailward.Core.MailStore;

public static class MaildirQuota
{
    private const int RecalculateAbove = 5120; // the Maildir++ specification's bound
    public const long AlwaysDeliveredBytes = 1024; // vpopmail: notices this small get through a full mailbox

    public static string FileOf(string maildir) => Path.Combine(maildir, "maildirsize");

    public static string Definition(Quota quota)
    {
        var parts = new List<string>();
        if (quota.Bytes > 0)
            parts.Add($"{quota.Bytes}S");
        if (quota.Messages > 0)
            parts.Add($"{quota.Messages}C");
        return parts.Count == 0 ? "0S" : string.Join(",", parts);
    }

    /// <summary>Current usage from maildirsize, recalculated (and the file rewritten) when missing, long, or unreadable.</summary>
    public static Quota Usage(string maildir, Quota quota)
    {
        var file = FileOf(maildir);
        try
        {
            var info = new FileInfo(file);
            if (info.Exists && info.Length <= RecalculateAbove)
            {
                var lines = File.ReadAllLines(file);
                if (lines.Length > 0 && lines[0] == Definition(quota))
                {
                    long bytes = 0, messages = 0;
                    var valid = true;
                    foreach (var line in lines.Skip(1))
                    {
                        var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        if (f.Length != 2 || !long.TryParse(f[0], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var b) ||
                            !long.TryParse(f[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var c))
                        {
                            valid = false;
                            break;
                        }
                        bytes += b;
                        messages += c;
                    }
                    if (valid)
                        return new Quota(Math.Max(0, bytes), Math.Max(0, messages));
                }
            }
        }
        catch (IOException)
        {
            // fall through to the exact count
        }
        return Recalculate(maildir, quota);
    }

    /// <summary>Walks the Maildir and rewrites maildirsize as the quota line and one total line.</summary>
    public static Quota Recalculate(string maildir, Quota quota)
    {
        var usage = MaildirUsage.Measure(maildir);
        if (!Directory.Exists(maildir))
            return usage;
        var tmp = Path.Combine(maildir, $"maildirsize.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp");
        File.WriteAllText(tmp, $"{Definition(quota)}\n{usage.Bytes} {usage.Messages}\n");
        File.Move(tmp, FileOf(maildir), overwrite: true);
        return usage;
    }

    /// <summary>Records a change (a delivery: +bytes +1; a deletion: -bytes -1) with one appended line.</summary>
    public static void Add(string maildir, long bytes, long messages)
    {
        var file = FileOf(maildir);
        if (!File.Exists(file))
            return; // the next reader recalculates from the Maildir itself
        // One write(2) with O_APPEND: concurrent appenders never interleave within a line.
        using var f = new FileStream(file, FileMode.Append, FileAccess.Write, FileShare.ReadWrite, 1);
        f.Write(Encoding.ASCII.GetBytes($"{bytes} {messages}\n"));
    }

    /// <summary>Would a message of <paramref name="size"/> bytes exceed <paramref name="quota"/> given <paramref name="usage"/>?</summary>
    public static bool WouldExceed(Quota quota, Quota usage, long size) =>
        size > AlwaysDeliveredBytes &&
        (quota.Bytes > 0 && usage.Bytes + size > quota.Bytes || quota.Messages > 0 && usage.Messages + 1 > quota.Messages);

    /// <summary>Has <paramref name="usage"/> already reached <paramref name="quota"/> (bytes or messages)?</summary>
    public static bool IsFull(Quota quota, Quota usage) =>
        quota.Bytes > 0 && usage.Bytes >= quota.Bytes || quota.Messages > 0 && usage.Messages >= quota.Messages;
}
