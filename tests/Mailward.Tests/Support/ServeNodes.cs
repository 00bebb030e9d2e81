// Several `mailward serve` nodes on one account store and one mail store, each with a data folder
// (its queue) and a Node:Id of its own (docs/multi-node.md): the two-node and cluster fault tests start them here.
using System.Diagnostics;

namespace Mailward.Tests.Support;

public sealed class ServeNodes(ServerProcesses servers, string root, string[] store, string mailStore)
{
    /// <summary>A started node and its listeners.</summary>
    public sealed record Node(Process Process, int Smtp, int Pop3, int Imap, int Submission);

    /// <summary>
    /// A node with its own data folder under the root; the caches' polling is set to an hour so that
    /// only LISTEN/NOTIFY can make a node see another's writes at once.
    /// </summary>
    public Process Launch(string id, int smtp, int pop3, int imap = 0, int submission = 0, params string[] more) =>
        servers.Start(Directory.CreateDirectory(Path.Combine(root, id)).FullName, smtp, [.. store, $"--MailStore:Path={mailStore}", $"--Node:Id={id}", $"--Pop3:Port={pop3}", "--Log:Level=Warning",
            $"--Imap:Port={imap}", $"--Submission:Port={submission}", "--Submission:AllowPlaintextAuth=loopback",
            "--Pop3:FailedLoginDelayMilliseconds=0", "--Imap:FailedLoginDelayMilliseconds=0", "--Submission:FailedAuthDelayMilliseconds=0",
            "--Accounts:CacheCheckMilliseconds=3600000", .. MailwardRunner.FastHashes, .. more]);

    /// <summary>A node with SMTP, POP3, IMAP and submission on free ports, once all four listen.</summary>
    public async Task<Node> StartAsync(string id, params string[] more)
    {
        var (smtp, pop3, imap, submission) = (ServerProcesses.FreePort(), ServerProcesses.FreePort(), ServerProcesses.FreePort(), ServerProcesses.FreePort());
        var p = Launch(id, smtp, pop3, imap, submission, more);
        foreach (var port in new[] { smtp, pop3, imap, submission })
            await ServerProcesses.WaitListeningAsync(port);
        return new Node(p, smtp, pop3, imap, submission);
    }
}
