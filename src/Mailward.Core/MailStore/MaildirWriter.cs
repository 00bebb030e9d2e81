// Delivers one message into a Maildir (the Maildir spec; Dovecot's and Courier's ,S= and ,W=
// sizes): write tmp/NAME with LF line ends, Return-Path and Delivered-To first; fsync; link into
// new/; fsync new/. IMAP's APPEND writes the same way into cur/, with its flags in the name. The name (MaildirName) is derived from the queue id, the recipient, the target
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

public static partial class MaildirWriter
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
    /// After <see cref="AlreadyDelivered"/> said yes: removes tmp/BASE.HOST should the earlier
    /// attempt have been killed between linking it into place and unlinking it (the link itself,
    /// never followed). Nothing else would ever remove it.
    /// </summary>
    public static void RemoveLeftover(string maildir, string uniqueBase, string hostname)
    {
        try
        {
            using var tmpDir = Libc.Open(Path.Combine(maildir, "tmp"), Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
            Libc.UnlinkAt(tmpDir, $"{uniqueBase}.{MaildirName.HostPart(hostname)}");
        }
        catch (IOException)
        {
            // nothing left (the usual case), or no tmp/ to look in
        }
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
        using var target = Open(maildir, uniqueBase, hostname, "new");
        try
        {
            using (var file = new FileStream(target.Handle, FileAccess.Write, 0))
            {
                target.Lf.Write(Encoding.UTF8.GetBytes($"Return-Path: <{returnPath}>\nDelivered-To: {deliveredTo}\n"), file);
                int n;
                while ((n = body.Read(target.Input, 0, target.Input.Length)) > 0)
                    target.Lf.Write(target.Input.AsSpan(0, n), file);
                target.Lf.Finish(file);
            }
            return target.Publish("");
        }
        catch
        {
            target.Discard();
            throw;
        }
    }

    /// <summary>
    /// IMAP APPEND (RFC 9051 §6.3.12): streams <paramref name="body"/> (CRLF or LF) into tmp/ with
    /// LF line ends, fsyncs it, lets <paramref name="beforePublish"/> refuse it by its size (a
    /// quota), then links it into cur/ under its name with <paramref name="info"/> (":2,FLAGS") and
    /// fsyncs cur/. More than <paramref name="maxBytes"/> read from the body throws
    /// <see cref="MessageTooLargeException"/> at once. Returns the path in cur/.
    /// </summary>
    public static async Task<string> AppendAsync(string folder, string uniqueBase, string hostname, Stream body, string info, long maxBytes,
        Action<long> beforePublish, CancellationToken ct)
    {
        using var target = Open(folder, uniqueBase, hostname, "cur");
        try
        {
            long read = 0;
            await using (var file = new FileStream(target.Handle, FileAccess.Write, 0))
            {
                int n;
                while ((n = await body.ReadAsync(target.Input, ct)) > 0)
                {
                    read += n;
                    if (read > maxBytes)
                        throw new MessageTooLargeException($"the message is larger than {maxBytes} bytes");
                    target.Lf.Write(target.Input.AsSpan(0, n), file);
                }
                target.Lf.Finish(file);
            }
            beforePublish(target.Lf.Size);
            return target.Publish(info);
        }
        catch
        {
            target.Discard();
            throw;
        }
    }

    private static Target Open(string maildir, string uniqueBase, string hostname, string into)
    {
        foreach (var sub in new[] { "tmp", "new", "cur" })
            if (new DirectoryInfo(Path.Combine(maildir, sub)).LinkTarget is not null)
                throw new IOException($"Maildir folder {sub}/ is a symbolic link; refusing to deliver through it");
        var tmpDir = Libc.Open(Path.Combine(maildir, "tmp"), Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
        SafeFileHandle? intoDir = null;
        try
        {
            intoDir = Libc.Open(Path.Combine(maildir, into), Libc.ORdOnly | Libc.ODirectory | Libc.ONoFollow);
            var host = MaildirName.HostPart(hostname);
            var (handle, tmp) = CreateTmp(tmpDir, uniqueBase, host);
            return new Target(maildir, into, tmpDir, intoDir, handle, tmp, uniqueBase, host);
        }
        catch
        {
            tmpDir.Dispose();
            intoDir?.Dispose();
            throw;
        }
    }

    /// <summary>A message being written: tmp/ and its target folder open by handle, the tmp file, the buffers.</summary>
    private sealed class Target(string maildir, string into, SafeFileHandle tmpDir, SafeFileHandle intoDir, SafeFileHandle handle, string tmp,
        string uniqueBase, string host) : IDisposable
    {
        public SafeFileHandle Handle { get; } = handle;
        public byte[] Input { get; } = ArrayPool<byte>.Shared.Rent(1 << 16);
        public LfWriter Lf { get; } = new();

        /// <summary>Links tmp/ into place under BASE.HOST,S=,W= plus <paramref name="info"/>; fsyncs the folder; returns the path.</summary>
        public string Publish(string info)
        {
            // ,S= is the size on disk; ,W= the size with CRLF line ends, as POP3 and IMAP report it.
            var final = MaildirName.Delivered(uniqueBase, host, Lf.Size, Lf.Size + Lf.Lines) + info;
            // A link, not a rename: an existing file of that name is never replaced (EEXIST).
            var errno = Libc.LinkAt(tmpDir, tmp, intoDir, final);
            if (errno is Libc.EPerm or Libc.ENotSup or Libc.EMLink && !File.Exists(Path.Combine(maildir, into, final)))
                Libc.RenameAt(tmpDir, tmp, intoDir, final); // a file system without hard links, as File.Move falls back
            else if (errno != 0)
                throw new IOException($"cannot link tmp/{tmp} to {into}/{final}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
            else
                Libc.UnlinkAt(tmpDir, tmp);
            Libc.Fsync(intoDir);
            return Path.Combine(maildir, into, final);
        }

        public void Discard()
        {
            try
            {
                Libc.UnlinkAt(tmpDir, tmp);
            }
            catch (IOException)
            {
            }
        }

        public void Dispose()
        {
            Handle.Dispose();
            tmpDir.Dispose();
            intoDir.Dispose();
            ArrayPool<byte>.Shared.Return(Input);
            Lf.Dispose();
        }
    }

    /// <summary>CRLF → LF as bytes pass (a lone CR is kept), counting the bytes written and the line ends, fsynced at the end.</summary>
    private sealed class LfWriter : IDisposable
    {
        private readonly byte[] _output = ArrayPool<byte>.Shared.Rent(1 << 16);
        private int _o;
        private bool _heldCr;

        public long Size { get; private set; }
        public long Lines { get; private set; }

        public void Write(ReadOnlySpan<byte> input, FileStream file)
        {
            foreach (var b in input)
            {
                if (_heldCr && b != (byte)'\n')
                    _output[_o++] = (byte)'\r'; // a lone CR (never accepted over SMTP) is kept as it was
                _heldCr = b == (byte)'\r';
                if (_heldCr)
                    continue;
                if (b == (byte)'\n')
                    Lines++;
                _output[_o++] = b;
                if (_o >= (1 << 16) - 1)
                    Flush(file);
            }
        }

        public void Finish(FileStream file)
        {
            if (_heldCr)
                _output[_o++] = (byte)'\r';
            _heldCr = false;
            Flush(file);
            file.Flush(flushToDisk: true);
        }

        private void Flush(FileStream file)
        {
            file.Write(_output, 0, _o);
            Size += _o;
            _o = 0;
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(_output);
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
