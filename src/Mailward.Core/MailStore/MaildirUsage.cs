// Measures what a Maildir holds (bytes and messages in new/ and cur/ of the inbox and its
// Maildir++ folders) by walking it. Delivery keeps maildirsize for the fast path; this is the
// slow, exact count that vuserinfo -Q and quota recalculation use.
namespace Mailward.Core.MailStore;

public static class MaildirUsage
{
    public static Accounts.Quota Measure(string maildir)
    {
        long bytes = 0, messages = 0;
        if (!Directory.Exists(maildir))
            return new Accounts.Quota(0, 0);
        var folders = new[] { maildir }.Concat(Directory.EnumerateDirectories(maildir, ".*"));
        foreach (var folder in folders)
            foreach (var sub in new[] { "new", "cur" })
            {
                var dir = Path.Combine(folder, sub);
                if (!Directory.Exists(dir))
                    continue;
                foreach (var f in new DirectoryInfo(dir).EnumerateFiles())
                {
                    bytes += f.Length;
                    messages++;
                }
            }
        return new Accounts.Quota(bytes, messages);
    }

    /// <summary>The larger of the byte and message usage as a percentage of the quota (vpopmail's figure).</summary>
    public static int Percent(Accounts.Quota usage, Accounts.Quota quota)
    {
        var b = quota.Bytes > 0 ? usage.Bytes * 100 / quota.Bytes : 0;
        var m = quota.Messages > 0 ? usage.Messages * 100 / quota.Messages : 0;
        return (int)Math.Max(b, m);
    }
}
