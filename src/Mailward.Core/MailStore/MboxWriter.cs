// Appends a message to an mbox file, as qmail-local does for a .qmail line naming a file: under an
// exclusive lock, a "From " separator line, Return-Path and Delivered-To, the message with LF line
// ends and mboxrd quoting of From lines (">From "), a blank line; fsynced. On any error the file
// is cut back to its old length, so a failed attempt leaves no half message behind.
// The file may sit in a folder a local user can write: it is opened without following a link in
// any part of its path, created 0600, and must be a regular file with one link owned by the user
// Mailward runs as.
using System.Buffers;
using System.Globalization;
using System.Text;
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore;

public static class MboxWriter
{
    private static readonly TimeSpan LockWait = TimeSpan.FromSeconds(30);

    public static async Task AppendAsync(string path, string returnPath, string deliveredTo, Stream body, DateTimeOffset now, CancellationToken ct)
    {
        var file = await OpenLockedAsync(path, ct);
        await using var _ = file;
        var original = file.Length;
        try
        {
            file.Position = original;
            var separator = $"From {(returnPath.Length == 0 ? "MAILER-DAEMON" : returnPath)} {now.UtcDateTime.ToString("ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture)}\n";
            var output = new MemoryStream();
            output.Write(Encoding.UTF8.GetBytes(separator + $"Return-Path: <{returnPath}>\nDelivered-To: {deliveredTo}\n"));
            var input = ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                var line = new MemoryStream();
                int n;
                while ((n = body.Read(input, 0, 1 << 16)) > 0)
                    for (var i = 0; i < n; i++)
                    {
                        line.WriteByte(input[i]);
                        if (input[i] == (byte)'\n')
                            WriteLine(output, line);
                    }
                if (line.Length > 0)
                {
                    line.WriteByte((byte)'\n');
                    WriteLine(output, line);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(input);
            }
            output.WriteByte((byte)'\n'); // the blank line before the next separator
            output.Position = 0;
            await output.CopyToAsync(file, ct);
            file.Flush(flushToDisk: true);
        }
        catch
        {
            file.SetLength(original);
            file.Flush(flushToDisk: true);
            throw;
        }
    }

    /// <summary>One line: CRLF becomes LF; "From " after any number of '>' gets one more (mboxrd).</summary>
    private static void WriteLine(MemoryStream output, MemoryStream line)
    {
        var bytes = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (bytes.Length >= 2 && bytes[^2] == (byte)'\r')
        {
            bytes[^2] = (byte)'\n';
            bytes = bytes[..^1];
        }
        var quoted = bytes.TrimStart((byte)'>');
        if (quoted.StartsWith("From "u8))
            output.WriteByte((byte)'>');
        output.Write(bytes);
        line.SetLength(0);
    }

    /// <summary>Opens (or creates) the file safely, then waits for the exclusive lock (flock, as .NET's FileShare.None), up to a bound.</summary>
    private static async Task<FileStream> OpenLockedAsync(string path, CancellationToken ct)
    {
        // O_NONBLOCK: a FIFO planted under the name must not hang the open; it fails the check below.
        // No link anywhere on the path: a folder swapped for a link after the path check cannot redirect the append.
        var handle = Libc.OpenWithoutLinks(Path.GetFullPath(path), Libc.ORdWr | Libc.OCreat | Libc.ONoCtty | Libc.ONonBlock,
            UnixFileMode.UserRead | UnixFileMode.UserWrite);
        try
        {
            var facts = Libc.Facts(handle);
            if (!facts.IsRegularFile || facts.Links != 1 || facts.Owner != Libc.EffectiveUserId)
                throw new IOException($"mbox {path} is not a regular file with one link owned by uid {Libc.EffectiveUserId}; refusing to append");
            var deadline = DateTime.UtcNow + LockWait;
            while (!Libc.TryLockExclusive(handle))
            {
                if (DateTime.UtcNow >= deadline)
                    throw new IOException($"mbox {path} stayed locked for {LockWait.TotalSeconds:0} s");
                await Task.Delay(100, ct);
            }
            return new FileStream(handle, FileAccess.ReadWrite, 1 << 16);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }
}
