// mailward queue list|stat|check|flush|del|hosts (qmail-qread, qmail-qstat, SIGALRM, qmail-tcpto):
// asks the running server through its control socket; without one, reads the queue as it is on disk.
using System.CommandLine;
using Mailward.Control;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Delivery;
using Mailward.Core.Policy;
using Mailward.Core.Queue;

namespace Mailward.Cli;

internal static class QueueCommands
{
    public static Command Build(CliContext ctx)
    {
        var queue = new Command("queue", "The mail queue: list, count, retry now, delete, and the hosts being skipped.");
        queue.Subcommands.Add(new Command("list", "List queued messages: arrival, id, size, sender, then each recipient with its state, next attempt and last error (qmail-qread).")
            .WithAction(async _ =>
            {
                var (messages, damage) = await StatusAsync(ctx);
                foreach (var m in messages)
                {
                    // Senders, EHLO names and remote replies come from strangers: printable and capped (ClientText).
                    ctx.Out.WriteLine($"{m.ArrivedAt.UtcDateTime:dd MMM yyyy HH:mm:ss} GMT  #{m.QueueId}  {m.Bytes}  <{ClientText.Printable(m.Sender, 320)}>  {ClientText.Printable(m.Origin, 600)}");
                    foreach (var r in m.Recipients)
                    {
                        var next = r.NextAttempt is { } at ? $"\tnext {at.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z" : "";
                        var error = r.LastError.Length > 0 ? $"\t{ClientText.Printable(r.LastError, 1000)}" : "";
                        ctx.Out.WriteLine($"\t{r.State}\t{ClientText.Printable(r.Address, 320)}{next}{error}");
                    }
                }
                foreach (var e in damage.Lines)
                    ctx.Error.WriteLine($"mailward: queue: {e}");
                return 0;
            }));
        queue.Subcommands.Add(new Command("stat", "Count queued messages and recipients still to deliver (qmail-qstat).").WithAction(async _ =>
        {
            var (messages, damage) = await StatusAsync(ctx);
            ctx.Out.WriteLine($"messages in queue: {messages.Count}");
            ctx.Out.WriteLine($"recipients pending: {messages.Sum(m => m.Recipients.Count(r => r.State is "pending" or "delivering"))}");
            ctx.Out.WriteLine($"bytes in queue: {messages.Sum(m => m.Bytes)}");
            var held = messages.Count(m => m.Recipients.Any(r => r.State == "held"));
            if (damage.Ranges > 0 || held > 0)
            {
                ctx.Out.WriteLine($"damaged ranges: {damage.Ranges}");
                ctx.Out.WriteLine($"suspect messages: {damage.Suspects.Count}");
                ctx.Out.WriteLine($"held messages: {held}");
                ctx.Out.WriteLine("(mailward queue check names each; the damaged bytes are saved in queue/corrupt/)");
            }
            return 0;
        }));
        queue.Subcommands.Add(new Command("check",
            "Scan the queue on disk for damage (the server running or not; changes nothing): name each damaged range, held message and torn tail. Exit 42 when damage was found.")
            .WithAction(_ =>
            {
                var (messages, health) = QueueStore.Check(ctx.Data.Settings.QueuePath);
                foreach (var d in health.Damage)
                    ctx.Out.WriteLine($"damaged: {d}");
                foreach (var (queueId, problem) in health.Held.OrderBy(kv => kv.Key, StringComparer.Ordinal))
                    ctx.Out.WriteLine($"held: {queueId}: {problem}");
                if (health.TornTail is { } t)
                    ctx.Out.WriteLine($"incomplete tail: {Path.GetFileName(t.Segment)} bytes {t.Start}-{t.End}: a write in progress, or a crash's (cut at the next start)");
                ctx.Out.WriteLine($"queue check: {messages.Count} message(s), {health.Damage.Count} damaged range(s), " +
                    $"{health.Suspects.Count} suspect message(s), {health.Held.Count} held message(s)");
                return Task.FromResult(health.Damaged ? CliContext.ExitQueueDamaged : 0);
            }));
        queue.Subcommands.Add(new Command("flush", "Retry every deferred message now and forget unreachable hosts (qmail's SIGALRM). Needs the running server.")
            .WithAction(async _ =>
            {
                var answer = await ControlChannel.AskAsync(ctx.Data.Path, "queue-flush");
                if (answer is null)
                    return ctx.Fail("no running server answers on " + ControlChannel.SocketPath(ctx.Data.Path) + "; a start delivers the whole queue at once", CliContext.ExitNoServer);
                ctx.Out.WriteLine(answer.Message);
                return 0;
            }));
        var id = new Argument<string>("ID") { Description = "the queue id, as `queue list` shows it after #" };
        var del = new Command("del", "Remove one message from the queue without delivering it further (no bounce).") { id };
        del.SetAction(async (parse, _) =>
        {
            var queueId = parse.GetValue(id)!.TrimStart('#');
            var answer = await ControlChannel.AskAsync(ctx.Data.Path, "queue-del " + queueId);
            if (answer is not null)
                return answer.Ok ? ctx.Done(answer.Message) : ctx.Fail(answer.Message, CliContext.ExitNotQueued);
            // No server: this process takes the queue's lock and writes the removal itself, audited as the server's is.
            await using var store = QueueStore.Open(ctx.Data.Settings.QueuePath, ctx.Data.Settings.Queue);
            try
            {
                await ctx.Admin.DeleteQueuedAsync(Actor.System, queueId, id => store.Messages.FirstOrDefault(m => m.QueueId == id) is { } m ? StatusOf(m) : null,
                    async id =>
                    {
                        if (!store.Contains(id))
                            return false;
                        await store.RemoveAsync(id);
                        return true;
                    });
            }
            catch (AccountException e)
            {
                return ctx.Fail(e.Message, CliContext.ExitNotQueued);
            }
            return ctx.Done($"deleted {queueId}");
        });
        queue.Subcommands.Add(del);
        queue.Subcommands.Add(new Command("hosts", "Remote hosts that could not be reached lately and are skipped until the time shown (qmail-tcpto).")
            .WithAction(async _ =>
            {
                var answer = await ControlChannel.AskAsync(ctx.Data.Path, "queue-status");
                if (answer is null)
                    return ctx.Fail("no running server answers; unreachable hosts are known only to a running server", CliContext.ExitNoServer);
                foreach (var h in answer.Hosts ?? [])
                    ctx.Out.WriteLine($"{h.Endpoint}\tfailures {h.Failures}\tskipped until {h.SkipUntil.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z\t{h.LastError}");
                return 0;
            }));
        return queue;
    }

    /// <summary>The live view from the running server, or the queue as it is on disk when none runs.</summary>
    private static async Task<(IReadOnlyList<MessageStatus> Messages, QueueDamageSummary Damage)> StatusAsync(CliContext ctx)
    {
        if (await ControlChannel.AskAsync(ctx.Data.Path, "queue-status") is { Queue: { } live } answer)
            return (live, answer.Damage ?? new QueueDamageSummary(0, [], []));
        var (messages, health) = QueueStore.Check(ctx.Data.Settings.QueuePath);
        return (messages.Select(StatusOf).ToList(), new QueueDamageSummary(health.Damage.Count, health.Suspects, health.Lines()));
    }

    /// <summary>A message as the queue's files hold it, in the running server's terms (no next attempt: no server schedules one).</summary>
    private static MessageStatus StatusOf(QueuedMessage m) =>
        new(m.QueueId, m.ArrivedAt, m.Envelope.Sender, m.MessageLength, MessageStatus.OriginOf(m.Envelope),
            m.Envelope.Recipients.Select((r, i) => new RecipientStatus(r,
                m.Done.TryGetValue(i, out var o) ? o.ToString().ToLowerInvariant() : m.Held ? "held" : "pending", null,
                m.Held && !m.Done.ContainsKey(i) ? m.Problem! : m.ReasonFor(i))).ToList());
}
