// Delivers one message into a Maildir (the Maildir spec; Dovecot's and Courier's ,S= and ,W=
// sizes): write tmp/NAME with LF line ends, Return-Path and Delivered-To first; fsync; rename into
// new/; fsync new/. The name is derived from the queue id, the recipient and the target, so a
// repeated attempt after a crash finds its own earlier file and counts it done (exactly once).
using System.Text;

namespace Mailward.Core.MailStore;

public static class MaildirWriter
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>The base of the file name: stable for one (message, recipient, target).</summary>
    public static string UniqueBase(DateTimeOffset arrived, string queueId, int recipient, int target) =>
        $"{arrived.ToUnixTimeSeconds()}.M{queueId}R{recipient}T{target}";

    /// <summary>True when new/ or cur/ already holds the file of this delivery (cur/ names carry flags after the sizes).</summary>
    public static bool AlreadyDelivered(string maildir, string uniqueBase)
    {
        var prefix = uniqueBase + ".";
        foreach (var sub in new[] { "new", "cur" })
        {
            var dir = Path.Combine(maildir, sub);
            if (Directory.Exists(dir) && Directory.EnumerateFiles(dir, prefix + "*").Any())
                return true;
        }
        return false;
    }

    /// <summary>Writes the message; returns the file's path in new/. The body is the queued message (CRLF).</summary>
    public static async Task<string> DeliverAsync(string maildir, string uniqueBase, string hostname, string returnPath, string deliveredTo,
        Stream body, CancellationToken ct = default)
    {
        if (!Directory.Exists(Path.Combine(maildir, "tmp")))
            foreach (var sub in new[] { "tmp", "new", "cur" })
                Directory.CreateDirectory(Path.Combine(maildir, sub), Private); // vdelivermail recreates a missing Maildir
        var host = hostname.Replace("/", "\\057", StringComparison.Ordinal).Replace(":", "\\072", StringComparison.Ordinal);
        var tmp = Path.Combine(maildir, "tmp", $"{uniqueBase}.{host}");
        long size = 0, lines = 0;
        try
        {
            await using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                var header = Encoding.UTF8.GetBytes($"Return-Path: <{returnPath}>\nDelivered-To: {deliveredTo}\n");
                await file.WriteAsync(header, ct);
                size += header.Length;
                lines += 2;
                var input = new byte[1 << 16];
                var output = new byte[1 << 16];
                var heldCr = false;
                int n;
                while ((n = await body.ReadAsync(input, ct)) > 0)
                {
                    var o = 0;
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
                        if (o >= output.Length - 1)
                        {
                            await file.WriteAsync(output.AsMemory(0, o), ct);
                            size += o;
                            o = 0;
                        }
                    }
                    await file.WriteAsync(output.AsMemory(0, o), ct);
                    size += o;
                }
                if (heldCr)
                {
                    await file.WriteAsync(new[] { (byte)'\r' }, ct);
                    size++;
                }
                await file.FlushAsync(ct);
                file.Flush(flushToDisk: true);
            }
            // ,S= is the size on disk; ,W= the size with CRLF line ends, as POP3 and IMAP report it.
            var final = Path.Combine(maildir, "new", $"{uniqueBase}.{host},S={size},W={size + lines}");
            File.Move(tmp, final);
            Queue.Fsync.Directory(Path.Combine(maildir, "new"));
            return final;
        }
        catch
        {
            try
            {
                File.Delete(tmp);
            }
            catch (IOException)
            {
            }
            throw;
        }
    }
}
