// Who holds a lock: this node's id, the machine's boot id, this process's pid and start time
// (/proc/PID/stat field 22), so a holder that is gone on this node is recognised at once, also
// when its pid has been reused.
using System.Globalization;

namespace Mailward.Core.MailStore.Locks;

public sealed record ProcessIdentity(string NodeId, string BootId, int Pid, long StartTicks)
{
    public static ProcessIdentity Current(string nodeId) =>
        new(nodeId, BootIdOfThisMachine(), Environment.ProcessId, StartTicksOf(Environment.ProcessId) ?? 0);

    public static string BootIdOfThisMachine()
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>Field 22 of /proc/PID/stat (start time in clock ticks since boot); null when no such process runs.</summary>
    public static long? StartTicksOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        // Field 2 (the command) is in parentheses and may hold spaces: count from the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : null;
    }

    /// <summary>True when this machine (same node, same boot) runs the process this identity names.</summary>
    public bool IsAliveHere(ProcessIdentity self) =>
        NodeId == self.NodeId && BootId == self.BootId && BootId.Length > 0 && StartTicksOf(Pid) == StartTicks;
}
