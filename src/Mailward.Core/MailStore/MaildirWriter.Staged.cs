// Delivery in two steps for bulletins (docs/bulletin-format.md): Stage writes tmp/NAME and fsyncs
// it and tmp/; the caller records that durably; PublishStaged then renames it into new/ with
// renameat2(RENAME_NOREPLACE), so the copy is in tmp/ or was published, never both and never neither.
// The same refusals as Deliver: links for tmp/new/cur, files created O_EXCL|O_NOFOLLOW by handle.
using Mailward.Core.MailStore.Maildir;
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore;

/// <summary>A copy written and fsynced in tmp/ under <paramref name="TmpName"/>, to be published as new/<paramref name="FinalName"/>.</summary>
public sealed record StagedCopy(string Maildir, string TmpName, string FinalName, long Size);

public enum PublishOutcome
{
    /// <summary>Renamed into new/ now.</summary>
    Published,

    /// <summary>No such tmp file: published earlier (and perhaps read or deleted since).</summary>
    WasPublished,
}

public static partial class MaildirWriter
{
    /// <summary>
    /// Writes <paramref name="header"/> then <paramref name="body"/> (CRLF or LF; stored with LF) to
    /// tmp/BASE.HOST, fsyncs the file and tmp/, and returns its names. A file of that name (an
    /// earlier stage that was never committed) is replaced. Creates a missing Maildir, as Deliver does.
    /// </summary>
    public static StagedCopy Stage(string maildir, string uniqueBase, string hostname, ReadOnlySpan<byte> header, ReadOnlySpan<byte> body)
    {
        if (!Directory.Exists(Path.Combine(maildir, "tmp")))
            foreach (var sub in new[] { "tmp", "new", "cur" })
                Directory.CreateDirectory(Path.Combine(maildir, sub), Private);
        RefuseLinkedFolders(maildir);
        using var tmpDir = Libc.Open(Path.Combine(maildir, "tmp"), Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
        var host = MaildirName.HostPart(hostname);
        var (handle, name) = CreateTmp(tmpDir, uniqueBase, host);
        using var lf = new LfWriter();
        try
        {
            using (var file = new FileStream(handle, FileAccess.Write, 0))
            {
                lf.Write(header, file);
                lf.Write(body, file);
                lf.Finish(file);
            }
            Libc.Fsync(tmpDir); // the name must survive a power loss once the journal says it exists
            return new StagedCopy(maildir, name, MaildirName.Delivered(uniqueBase, host, lf.Size, lf.Size + lf.Lines), lf.Size);
        }
        catch
        {
            try
            {
                Libc.UnlinkAt(tmpDir, name);
            }
            catch (IOException)
            {
            }
            throw;
        }
    }

    /// <summary>
    /// Renames tmp/<paramref name="tmpName"/> to new/<paramref name="finalName"/> and fsyncs new/.
    /// With <paramref name="checkExisting"/> (a re-run rolling an earlier run forward) a file of
    /// <paramref name="uniqueBase"/> already in new/ or cur/ means it was published: the tmp file is
    /// removed instead. A final name that exists already is never replaced.
    /// </summary>
    public static PublishOutcome PublishStaged(string maildir, string tmpName, string finalName, string uniqueBase, bool checkExisting)
    {
        if (!File.Exists(Path.Combine(maildir, "tmp", tmpName)))
            return PublishOutcome.WasPublished;
        RefuseLinkedFolders(maildir);
        using var tmpDir = Libc.Open(Path.Combine(maildir, "tmp"), Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
        using var newDir = Libc.Open(Path.Combine(maildir, "new"), Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
        if (checkExisting && AlreadyDelivered(maildir, uniqueBase))
        {
            Libc.UnlinkAt(tmpDir, tmpName);
            return PublishOutcome.WasPublished;
        }
        var errno = Libc.RenameNoReplace(tmpDir, tmpName, newDir, finalName);
        if (errno is Libc.EInval or Libc.ENoSys or Libc.ENotSup)
        {
            // No renameat2 here: link, then unlink (docs/bulletin-format.md says what that leaves open).
            errno = Libc.LinkAt(tmpDir, tmpName, newDir, finalName);
            if (errno == 0)
                Libc.UnlinkAt(tmpDir, tmpName);
        }
        if (errno == Libc.EExist)
        {
            Libc.UnlinkAt(tmpDir, tmpName);
            return PublishOutcome.WasPublished;
        }
        if (errno == Libc.ENoEnt)
            return PublishOutcome.WasPublished;
        if (errno != 0)
            throw new IOException($"cannot rename tmp/{tmpName} to new/{finalName}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
        Libc.Fsync(newDir);
        return PublishOutcome.Published;
    }

    private static void RefuseLinkedFolders(string maildir)
    {
        foreach (var sub in new[] { "tmp", "new", "cur" })
            if (new DirectoryInfo(Path.Combine(maildir, sub)).LinkTarget is not null)
                throw new IOException($"Maildir folder {sub}/ is a symbolic link; refusing to deliver through it");
    }
}
