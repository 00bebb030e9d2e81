// sendmail's command line as programs write it (Sendmail 8 and Postfix): flags that matter are
// kept, the common ones that do not (-oem, -odb, -v, ...) are accepted and ignored, anything else
// is a usage error (exit 64). docs/pickup-format.md, "Command line", lists them.
using Mailward.Core.Sendmail;

namespace Mailward.Sendmail;

internal enum SendmailMode
{
    Send,      // -bm
    Smtp,      // -bs
    ListQueue, // -bp, mailq
    Flush,     // -q
    Help,      // --help
}

internal sealed record SendmailArguments(SendmailMode Mode, SendmailFlags Flags, string Sender, string FullName, IReadOnlyList<string> Recipients)
{
    public const string Usage =
        "usage: sendmail [-t] [-i] [-f sender] [-F name] [-bm|-bs|-bp] [-q] [-oi -oem -odb ...] [recipient ...] < message\n" +
        "  -t  recipients also from To, Cc and Bcc    -i, -oi  a lone dot does not end the message\n" +
        "  -f  envelope sender (trusted users only)   -F       full name for an added From:\n" +
        "  -bs SMTP on standard input and output      -bp      list the queue (mailq)    -q  retry the queue now";

    // Options whose value follows, attached or as the next argument; all are ignored.
    private static readonly string[] IgnoredWithValue = ["-B", "-N", "-R", "-V", "-X", "-L", "-h", "-C", "-O"];
    private static readonly string[] IgnoredAlone = ["-v", "-U", "-G", "-n", "-m", "-x", "-Am", "-Ac"];

    /// <summary>Parses the arguments after the command name; UsageException for what sendmail would not take.</summary>
    public static SendmailArguments Parse(IReadOnlyList<string> args)
    {
        var mode = SendmailMode.Send;
        var flags = SendmailFlags.None;
        string sender = "", fullName = "";
        var recipients = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            var a = args[i];
            string Value(string flag) =>
                a.Length > flag.Length ? a[flag.Length..] : i + 1 < args.Count ? args[++i] : throw new Cli.UsageException($"{flag} needs a value");
            if (a == "--")
            {
                recipients.AddRange(args.Skip(i + 1));
                break;
            }
            if (a == "--help")
                return new SendmailArguments(SendmailMode.Help, flags, sender, fullName, recipients);
            if (!a.StartsWith('-') || a == "-")
            {
                recipients.Add(a);
                continue;
            }
            switch (a)
            {
                case "-t":
                    flags |= SendmailFlags.RecipientsFromHeader;
                    continue;
                case "-i" or "-oi":
                    flags |= SendmailFlags.IgnoreDots;
                    continue;
                case "-bm":
                    mode = SendmailMode.Send;
                    continue;
                case "-bs":
                    mode = SendmailMode.Smtp;
                    continue;
                case "-bp":
                    mode = SendmailMode.ListQueue;
                    continue;
            }
            if (a.StartsWith("-f", StringComparison.Ordinal) || a.StartsWith("-r", StringComparison.Ordinal))
            {
                sender = Value(a[..2]);
                flags |= SendmailFlags.SenderGiven;
            }
            else if (a.StartsWith("-F", StringComparison.Ordinal))
                fullName = Value("-F");
            else if (a.StartsWith("-q", StringComparison.Ordinal))
                mode = SendmailMode.Flush; // -q, -q30m, -qf: run the queue now
            else if (a.StartsWith("-o", StringComparison.Ordinal) || IgnoredAlone.Contains(a))
            {
                // -oem, -oee, -odb, -odi, -om, -oX...: errors are always the exit status, delivery always in the background
            }
            else if (IgnoredWithValue.FirstOrDefault(f => a.StartsWith(f, StringComparison.Ordinal)) is { } withValue)
                _ = Value(withValue);
            else if (a.StartsWith("-b", StringComparison.Ordinal))
                throw new Cli.UsageException($"mode {a} is not supported (only -bm, -bs and -bp)");
            else
                throw new Cli.UsageException($"unknown option {a}");
        }
        return new SendmailArguments(mode, flags, sender, fullName, recipients);
    }
}
