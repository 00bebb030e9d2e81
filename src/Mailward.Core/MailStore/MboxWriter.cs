// Appends a message to an mbox file, as qmail-local does for a .qmail line naming a file: under an
// exclusive lock, a "From " separator line, Return-Path and Delivered-To, the message with LF line
// ends and mboxrd quoting of From lines (">From "), a blank line; fsynced. On any error the file
// is cut back to its old length, so a failed attempt leaves no half message behind.
using System.Buffers;
using System.Globalization;
using System.Text;

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

    /// <summary>.NET locks a file opened with FileShare.None (flock); another writer makes us wait, up to a bound.</summary>
    private static async Task<FileStream> OpenLockedAsync(string path, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + LockWait;
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1 << 16,
                    FileOptions.None);
            }
            catch (IOException) when (File.Exists(path) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100, ct);
            }
        }
    }
}
