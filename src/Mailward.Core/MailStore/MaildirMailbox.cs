// A user's Maildir inbox as POP3 sees it (qmail-pop3d's behaviour): at open, new/ messages move to
// cur/ with the ":2," suffix; the list comes from file names (,W= gives the size with CRLF line
// ends without opening the file); the unique id is the name up to ':' (what qmail-pop3d and
// Dovecot report); deletions are applied only by Commit. A lock file in the Maildir keeps a second
// session out, also across nodes sharing the mail store; it goes stale after a timeout.
using System.Text;
using Mailward.Core.MailStore.Maildir;

namespace Mailward.Core.MailStore;

public sealed record MailboxMessage(string FileName, string UniqueId, long Size, long StoredSize);

public sealed class MaildirMailbox : IDisposable
{
    private const string LockName = "mailward-pop3.lock";
    private readonly string _maildir;
    private readonly string _lockPath;
    private bool _locked;

    public IReadOnlyList<MailboxMessage> Messages { get; }

    private MaildirMailbox(string maildir, List<MailboxMessage> messages, string lockPath)
    {
        _maildir = maildir;
        Messages = messages;
        _lockPath = lockPath;
        _locked = true;
    }

    /// <summary>Locks and opens the mailbox; null when another session holds a fresh lock ([IN-USE]).</summary>
    public static MaildirMailbox? Open(string maildir, TimeSpan staleAfter, string holder)
    {
        foreach (var sub in new[] { "tmp", "new", "cur" })
            Directory.CreateDirectory(Path.Combine(maildir, sub), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var lockPath = Path.Combine(maildir, LockName);
        if (!TryLock(lockPath, staleAfter, holder))
            return null;
        try
        {
            var cur = Path.Combine(maildir, "cur");
            foreach (var file in new DirectoryInfo(Path.Combine(maildir, "new")).EnumerateFiles())
            {
                if (file.Name.StartsWith('.'))
                    continue;
                try
                {
                    File.Move(file.FullName, Path.Combine(cur, file.Name.Contains(':', StringComparison.Ordinal) ? file.Name : file.Name + ":2,"));
                }
                catch (FileNotFoundException)
                {
                    // taken by an IMAP session or another node meanwhile
                }
            }
            var messages = new DirectoryInfo(cur).EnumerateFiles()
                .Where(f => !f.Name.StartsWith('.'))
                .Select(f => (File: f, Name: MaildirName.Parse(f.Name)))
                .OrderBy(x => x.Name.Time ?? 0).ThenBy(x => x.Name.Key, StringComparer.Ordinal)
                .Select(x => new MailboxMessage(x.File.Name, x.Name.Pop3Uidl, x.Name.VirtualSize ?? SizeWithCrLf(x.File), x.Name.Size ?? x.File.Length))
                .ToList();
            return new MaildirMailbox(maildir, messages, lockPath);
        }
        catch
        {
            File.Delete(lockPath);
            throw;
        }
    }

    /// <summary>The stored message as a plain handle reader: no stream layers, one read call per block.</summary>
    public MessageReader OpenMessage(int index) =>
        new(File.OpenHandle(Path.Combine(_maildir, "cur", Messages[index].FileName), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete),
            Messages[index].StoredSize);

    /// <summary>The POP3 UPDATE state: deletes the marked messages and updates maildirsize. Returns how many went.</summary>
    public int Commit(IEnumerable<int> deleted)
    {
        long bytes = 0;
        var count = 0;
        foreach (var i in deleted)
        {
            try
            {
                File.Delete(Path.Combine(_maildir, "cur", Messages[i].FileName));
                bytes += Messages[i].StoredSize;
                count++;
            }
            catch (IOException)
            {
                // already gone (another client of a shared store): nothing to do
            }
        }
        if (count > 0)
            MaildirQuota.Add(_maildir, -bytes, -count);
        return count;
    }

    private DateTime _touched = DateTime.UtcNow;

    /// <summary>Keeps the lock fresh during a long session (at most once a minute: one syscall, not one per command).</summary>
    public void Touch()
    {
        var now = DateTime.UtcNow;
        if (now - _touched < TimeSpan.FromMinutes(1))
            return;
        _touched = now;
        try
        {
            File.SetLastWriteTimeUtc(_lockPath, now);
        }
        catch (IOException)
        {
        }
    }

    public void Dispose()
    {
        if (!_locked)
            return;
        _locked = false;
        try
        {
            File.Delete(_lockPath);
        }
        catch (IOException)
        {
        }
    }

    private static bool TryLock(string path, TimeSpan staleAfter, string holder)
    {
        for (var attempt = 0; attempt < 2; attempt++)
        {
            try
            {
                using var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                f.Write(Encoding.UTF8.GetBytes(holder + "\n"));
                return true;
            }
            catch (IOException) when (File.Exists(path))
            {
                // A lock older than the timeout belongs to a session that died without cleaning up.
                if (DateTime.UtcNow - File.GetLastWriteTimeUtc(path) < staleAfter)
                    return false;
                File.Delete(path);
            }
        }
        return false;
    }

    /// <summary>The size as POP3 sends it (CRLF line ends) of a name without ,W=: counted from the file.</summary>
    private static long SizeWithCrLf(FileInfo file)
    {
        using var f = file.OpenRead();
        var buffer = new byte[1 << 16];
        long total = 0;
        var previous = (byte)0;
        int n;
        while ((n = f.Read(buffer)) > 0)
        {
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] == (byte)'\n' && previous != (byte)'\r')
                    total++;
                previous = buffer[i];
            }
            total += n;
        }
        return total;
    }
}

/// <summary>Reads a stored message front to back; with the size known from its name, the read that would only say "end" is skipped.</summary>
public sealed class MessageReader(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long knownSize = -1) : IDisposable
{
    private long _offset;

    public int Read(Span<byte> buffer)
    {
        if (knownSize >= 0 && _offset >= knownSize)
            return 0;
        var n = RandomAccess.Read(handle, buffer, _offset);
        _offset += n;
        return n;
    }

    public void Dispose() => handle.Dispose();
}
