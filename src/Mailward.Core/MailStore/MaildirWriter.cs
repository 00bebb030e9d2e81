// Delivers one message into a Maildir (the Maildir spec; Dovecot's and Courier's ,S= and ,W=
// sizes): write tmp/NAME with LF line ends, Return-Path and Delivered-To first; fsync; link into
// new/; fsync new/. The name (MaildirName) is derived from the queue id, the recipient, the target
// and the node id, so a repeated attempt after a crash finds its own earlier file and counts it
// done (exactly once), and never takes another node's file for its own.
// A Maildir named by an alias line may sit in a folder a local user can write, so nothing is
// trusted there: tmp/new/cur that are links are refused, the folders are opened once without
// following links and the file is created in them (O_EXCL, O_NOFOLLOW, 0600) by handle.
using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Mailward.Core.MailStore.Maildir;
using Mailward.Core.Posix;
using Microsoft.Win32.SafeHandles;

namespace Mailward.Core.MailStore;

public static class MaildirWriter
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The ,S= size in a Maildir file name (bytes on disk), or the file's length when the name has none.</summary>
    public static long SizeOf(string path) => MaildirName.Parse(Path.GetFileName(path)).Size ?? new FileInfo(path).Length;

    /// <summary>
    /// True when new/ or cur/ already holds this node's file of this delivery (cur/ names carry
    /// flags after the sizes). <paramref name="uniqueBase"/> holds the node id, so another node's
    /// file never matches; a name from before node ids (<paramref name="legacyBase"/>) matches only
    /// with this node's HOST.
    /// </summary>
    public static bool AlreadyDelivered(string maildir, string uniqueBase, string? legacyBase = null, string hostname = "")
    {
        var host = MaildirName.HostPart(hostname);
        foreach (var sub in new[] { "new", "cur" })
        {
            var dir = Path.Combine(maildir, sub);
            if (!Directory.Exists(dir))
                continue;
            if (Directory.EnumerateFiles(dir, uniqueBase + ".*").Any())
                return true;
            if (legacyBase is not null && host.Length > 0 && host.IndexOfAny(['*', '?', '[']) < 0
                && Directory.EnumerateFiles(dir, $"{legacyBase}.{host},*").Any())
                return true;
        }
        return false;
    }

    /// <summary>
    /// Writes the message from the current position of <paramref name="body"/> (the queued
    /// message, CRLF) and returns the file's path in new/. Synchronous on purpose: small files,
    /// written by a bounded pool of delivery workers, go faster without async file I/O.
    /// </summary>
    public static string Deliver(string maildir, string uniqueBase, string hostname, string returnPath, string deliveredTo, Stream body)
    {
        if (!Directory.Exists(Path.Combine(maildir, "tmp")))
            foreach (var sub in new[] { "tmp", "new", "cur" })
                Directory.CreateDirectory(Path.Combine(maildir, sub), Private); // vdelivermail recreates a missing Maildir
        foreach (var sub in new[] { "tmp", "new", "cur" })
            if (new DirectoryInfo(Path.Combine(maildir, sub)).LinkTarget is not null)
                throw new IOException($"Maildir folder {sub}/ is a symbolic link; refusing to deliver through it");
        using var tmpDir = Libc.Open(Path.Combine(maildir, "tmp"), Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
        using var newDir = Libc.Open(Path.Combine(maildir, "new"), Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
        var host = MaildirName.HostPart(hostname);
        var (handle, tmp) = CreateTmp(tmpDir, uniqueBase, host);
        long size = 0, lines = 0;
        var input = ArrayPool<byte>.Shared.Rent(1 << 16);
        var output = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            using (var file = new FileStream(handle, FileAccess.Write, 0))
            {
                var o = Encoding.UTF8.GetBytes($"Return-Path: <{returnPath}>\nDelivered-To: {deliveredTo}\n", output);
                lines += 2;
                var heldCr = false;
                int n;
                while ((n = body.Read(input, 0, 1 << 16)) > 0)
                {
                    for (var i = 0; i < n; i++)
                    {
                        var b = input[i];
                        if (heldCr && b != (byte)'\n')
                            output[o++] = (byte)'\r'; // a lone CR (never accepted over SMTP) is kept as it was
                        heldCr = b == (byte)'\r';
                        if (heldCr)
                            continue;
                        if (b == (byte)'\n')
                            lines++;
                        output[o++] = b;
                        if (o >= (1 << 16) - 1)
                        {
                            file.Write(output, 0, o);
                            size += o;
                            o = 0;
                        }
                    }
                }
                if (heldCr)
                    output[o++] = (byte)'\r';
                file.Write(output, 0, o);
                size += o;
                file.Flush(flushToDisk: true);
            }
            // ,S= is the size on disk; ,W= the size with CRLF line ends, as POP3 and IMAP report it.
            var final = MaildirName.Delivered(uniqueBase, host, size, size + lines);
            // A link, not a rename: an existing file of that name is never replaced (EEXIST).
            var errno = Libc.LinkAt(tmpDir, tmp, newDir, final);
            if (errno is Libc.EPerm or Libc.ENotSup or Libc.EMLink && !File.Exists(Path.Combine(maildir, "new", final)))
                Libc.RenameAt(tmpDir, tmp, newDir, final); // a file system without hard links, as File.Move falls back
            else if (errno != 0)
                throw new IOException($"cannot link tmp/{tmp} to new/{final}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
            else
                Libc.UnlinkAt(tmpDir, tmp);
            Libc.Fsync(newDir);
            return Path.Combine(maildir, "new", final);
        }
        catch
        {
            try
            {
                Libc.UnlinkAt(tmpDir, tmp);
            }
            catch (IOException)
            {
            }
            throw;
        }
        finally
        {
            handle.Dispose();
            ArrayPool<byte>.Shared.Return(input);
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    /// <summary>
    /// tmp/BASE.HOST, created new: whatever has the name (a file left by an attempt killed
    /// mid-write, or a planted link) is unlinked, never opened or followed. Should the name be
    /// taken again at once, a name with 64 random bits that no one can plant in advance.
    /// </summary>
    private static (SafeFileHandle Handle, string Name) CreateTmp(SafeFileHandle tmpDir, string uniqueBase, string host)
    {
        var name = $"{uniqueBase}.{host}";
        for (var attempt = 0; ; attempt++)
        {
            var handle = Libc.TryOpenAt(tmpDir, name, Libc.OWrOnly | Libc.OCreat | Libc.OExcl | Libc.ONoFollow | Libc.ONoCtty,
                UnixFileMode.UserRead | UnixFileMode.UserWrite, out var errno);
            if (handle is not null)
                return (handle, name);
            if (errno != Libc.EExist || attempt == 3)
                throw new IOException($"cannot create tmp/{name}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
            if (attempt == 0)
            {
                try
                {
                    Libc.UnlinkAt(tmpDir, name); // the link itself, not what it points to
                }
                catch (IOException)
                {
                    // gone already, or a folder under that name: a random name below
                }
                continue;
            }
            name = $"{uniqueBase}.P{RandomNumberGenerator.GetHexString(16, lowercase: true)}.{host}";
        }
    }
}
