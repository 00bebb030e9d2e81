// The POP3 lock as a file in the Maildir (docs/mail-store.md "The POP3 lock"): holder node, boot id,
// pid and process start time, so a lock whose holder process is gone on this node is taken over at
// once (kill -9, then a restart), while a lock of another node is respected until it is stale.
// Taking and giving back run under an flock(2)ed guard file, so two takers never both win.
using System.Text;
using Mailward.Core.Posix;
using Microsoft.Win32.SafeHandles;

namespace Mailward.Core.MailStore.Locks;

public sealed class MaildirLocks(MailStoreLayout layout, ProcessIdentity self, TimeProvider? time = null) : IMailboxLocks
{
    public const string LockName = "mailward-pop3.lock";
    private const string GuardName = "mailward-lock.guard";
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public Task<IMailboxLock?> TryAcquireAsync(MailboxOwner owner, string session, TimeSpan staleAfter, CancellationToken ct = default) =>
        Task.Run(() => TryAcquire(MailStoreLayout.MaildirOf(layout.Resolve(owner.Directory)), session, staleAfter), ct);

    /// <summary>The same, for a Maildir path (the file format's tests).</summary>
    public IMailboxLock? TryAcquire(string maildir, string session, TimeSpan staleAfter)
    {
        Directory.CreateDirectory(maildir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var path = Path.Combine(maildir, LockName);
        using var guard = Guard.Take(Path.Combine(maildir, GuardName));
        if (File.Exists(path) && !Free(path, staleAfter))
            return null;
        var content = Render(self, session);
        var tmp = path + ".tmp";
        // No fsync: a lock need not outlive a power loss (its holder does not either, and the boot id
        // then frees it); the rename alone makes a reader see the old lock or the new, never half.
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
            f.Write(Encoding.UTF8.GetBytes(content));
        File.Move(tmp, path, overwrite: true);
        return new FileLock(path, Path.Combine(maildir, GuardName), content, _time);
    }

    private bool Free(string path, TimeSpan staleAfter)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return true;
        }
        if (Parse(text) is { } holder && holder.NodeId == self.NodeId)
            return !holder.IsAliveHere(self); // this node can see its own processes
        // Another node, or a file this version did not write: respected until stale.
        return _time.GetUtcNow().UtcDateTime - File.GetLastWriteTimeUtc(path) >= staleAfter;
    }

    public static string Render(ProcessIdentity who, string session) =>
        $"MWLOCK 1\nnode {who.NodeId}\nboot {who.BootId}\npid {who.Pid}\nstart {who.StartTicks}\nsession {session}\nEND\n";

    /// <summary>The holder a lock file names; null for a file not in format 1 (an older Mailward's, or damaged).</summary>
    public static ProcessIdentity? Parse(string text)
    {
        var lines = text.Split('\n');
        if (lines.Length < 7 || lines[0] != "MWLOCK 1" || lines[6] != "END")
            return null;
        string? Value(int i, string key) => lines[i].StartsWith(key + " ", StringComparison.Ordinal) ? lines[i][(key.Length + 1)..] : null;
        if (Value(1, "node") is not { } node || Value(2, "boot") is not { } boot || !int.TryParse(Value(3, "pid"), out var pid)
            || !long.TryParse(Value(4, "start"), out var start) || Value(5, "session") is null)
            return null;
        return new ProcessIdentity(node, boot, pid, start);
    }

    private sealed class FileLock(string path, string guardPath, string content, TimeProvider time) : IMailboxLock
    {
        private DateTimeOffset _touched = time.GetUtcNow();
        private bool _held = true;

        public void Touch()
        {
            var now = time.GetUtcNow();
            if (now - _touched < TimeSpan.FromMinutes(1))
                return;
            _touched = now;
            try
            {
                File.SetLastWriteTimeUtc(path, now.UtcDateTime);
            }
            catch (IOException)
            {
            }
        }

        public void Dispose()
        {
            if (!_held)
                return;
            _held = false;
            try
            {
                using var guard = Guard.Take(guardPath);
                // Only our own lock: after a takeover (ours looked stale to another node) the file is not ours.
                if (File.ReadAllText(path) == content)
                    File.Delete(path);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>An flock(2)ed guard file held for a few file operations; released on dispose or by the kernel when the process dies.</summary>
internal sealed class Guard : IDisposable
{
    private readonly SafeFileHandle _handle;

    private Guard(SafeFileHandle handle) => _handle = handle;

    public static Guard Take(string path)
    {
        var handle = Libc.Open(path, Libc.ORdWr | Libc.OCreat | Libc.ONoFollow, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var wait = 1;
            var deadline = Environment.TickCount64 + 30_000;
            while (!Libc.TryLockExclusive(handle))
            {
                if (Environment.TickCount64 > deadline)
                    throw new IOException($"{path} stayed locked for 30 s");
                Thread.Sleep(wait);
                wait = Math.Min(wait * 2, 50);
            }
            return new Guard(handle);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public void Dispose() => _handle.Dispose();
}
