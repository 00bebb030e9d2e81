// mailward queue list|stat: what is queued (qmail-qread, qmail-qstat). Reads the queue as it is
// on disk, safely while the server runs (docs/queue-format.md, "Reading the queue").
using System.CommandLine;
using Mailward.Core.Queue;

namespace Mailward.Cli;

internal static class QueueCommands
{
    public static Command Build(CliContext ctx)
    {
        var queue = new Command("queue", "The mail queue: list messages and their recipients, or count them.");
        queue.Subcommands.Add(new Command("list", "List queued messages: arrival, id, size, sender, then each recipient and its state (qmail-qread).").WithAction(_ =>
        {
            var (messages, errors) = QueueStore.ReadSnapshot(ctx.Data.Settings.QueuePath);
            foreach (var m in messages)
            {
                ctx.Out.WriteLine($"{m.ArrivedAt.UtcDateTime:dd MMM yyyy HH:mm:ss} GMT  #{m.QueueId}  {m.BodyLength}  <{m.Envelope.Sender}>  {m.Envelope.Protocol} from {m.Envelope.ClientAddress}");
                for (var i = 0; i < m.Envelope.Recipients.Count; i++)
                {
                    var state = m.Done.TryGetValue(i, out var outcome) ? outcome.ToString().ToLowerInvariant() : "pending";
                    ctx.Out.WriteLine($"\t{state}\t{m.Envelope.Recipients[i]}");
                }
            }
            foreach (var e in errors)
                ctx.Error.WriteLine($"mailward: queue: {e}");
        }));
        queue.Subcommands.Add(new Command("stat", "Count queued messages and recipients still to deliver (qmail-qstat).").WithAction(_ =>
        {
            var (messages, errors) = QueueStore.ReadSnapshot(ctx.Data.Settings.QueuePath);
            ctx.Out.WriteLine($"messages in queue: {messages.Count}");
            ctx.Out.WriteLine($"recipients pending: {messages.Sum(m => m.PendingRecipients.Count())}");
            ctx.Out.WriteLine($"bytes in queue: {messages.Sum(m => m.BodyLength)}");
            if (errors.Count > 0)
                ctx.Out.WriteLine($"queue errors: {errors.Count}");
        }));
        return queue;
    }
}
