// The autoresponder hook of local delivery (docs/autoresponder.md): finds the active autoresponder
// of the address a message was delivered to, applies the RFC 3834 rules (AutoreplyRules), records
// the sender in the account store (the once-per-interval check and the record are one statement),
// and only then queues the answer through QueueStore.Begin, the queue's one entry. Record before
// queue: a crash in between loses one answer and never sends two ("at most once").
using Mailward.Core.Accounts;
using Mailward.Core.Queue;
using Mailward.Core.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Autoresponder;

/// <summary>An autoresponder acting now for a delivered address: its record, its domain, whether the address is a user's.</summary>
public sealed record ActiveAutoresponder(AutoresponderRecord Record, DomainRecord Domain, UserRecord? User)
{
    public string Address => $"{Record.Local}@{Domain.Name}";
}

public sealed partial class AutoresponderAgent(IAccountStore store, QueueStore queue, string hostname, AutoresponderOptions options,
    TimeProvider? time = null, ILogger? log = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ILogger _log = log ?? NullLogger.Instance;

    /// <summary>The autoresponder acting now for the address a recipient resolved to; null for none (and for a catch-all).</summary>
    public async ValueTask<ActiveAutoresponder?> FindActiveAsync(Resolution r, RecipientResolver resolver, CancellationToken ct)
    {
        if (!options.Enabled || r.Kind is not (ResolutionKind.User or ResolutionKind.Alias or ResolutionKind.Extension) || r.Domain is null || r.Local is null)
            return null;
        if (store.FindAutoresponder(r.Domain.Id, r.Local) is not { } record || !record.ActiveAt(_time.GetUtcNow()))
            return null;
        // An alias of that name takes the mail (LocalDelivery's order); otherwise it is the user's.
        var user = await resolver.Directory.FindAliasAsync(r.Local, r.Domain.Name, ct) is null
            ? await resolver.Directory.FindUserAsync(r.Local, r.Domain.Name, ct)
            : null;
        return new ActiveAutoresponder(record, r.Domain, user);
    }

    /// <summary>
    /// Answers <paramref name="message"/>, delivered to <paramref name="recipient"/>, if the rules
    /// allow; <paramref name="body"/> is the message from its start. Never throws for a failed
    /// answer (the mail is delivered already): returns what happened, for the delivery's detail.
    /// </summary>
    public async Task<string> AnswerAsync(QueuedMessage message, string recipient, ActiveAutoresponder active, Stream body, CancellationToken ct)
    {
        var sender = message.Envelope.Sender;
        try
        {
            var header = OriginalHeader.Read(body, options.HeaderBytes);
            // The reason may quote a header field: logged printable.
            var why = AutoreplyRules.WhyNot(sender, header, Names(active, recipient)) is { } rule ? Policy.ClientText.Printable(rule, 200) : null;
            var now = _time.GetUtcNow();
            if (why is null && !store.TryRecordReply(active.Domain.Id, active.Record.Local, AutoreplyRules.Normalize(sender), now,
                    now.AddDays(active.Record.IntervalDays), options.CleanupBatch))
                why = $"answered within {active.Record.IntervalDays} days";
            if (why is not null)
            {
                NotAnswered(_log, message.QueueId, active.Address, sender, why);
                return "no autoreply: " + why;
            }
            // Recorded: from here a crash or a failure means this sender gets no answer, never two.
            var reply = AutoreplyBuilder.Build(hostname, active.Address, active.User?.Gecos ?? "", sender, header,
                active.Record.Subject, active.Record.Body, now);
            await using var tx = queue.Begin(new QueueEnvelope("", [sender], "127.0.0.1", hostname, "autoreply"));
            await tx.WriteAsync(reply, ct);
            var id = await tx.CommitAsync(ct);
            Answered(_log, message.QueueId, id, active.Address, sender, reply.Length);
            return $"autoreply {id} to <{sender}>";
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var reason = Policy.ClientText.Printable(e.Message, 300);
            AnswerFailed(_log, message.QueueId, active.Address, sender, reason);
            return "autoreply failed: " + reason;
        }
    }

    /// <summary>
    /// The names mail to this address may use in To or Cc (lower case): the address, the same local
    /// part at each alias domain, the envelope recipient, and for a user the aliases that only forward to it.
    /// </summary>
    private HashSet<string> Names(ActiveAutoresponder a, string recipient)
    {
        var local = a.Record.Local;
        var domains = new List<string> { a.Domain.Name };
        domains.AddRange(store.ListDomainAliases(a.Domain.Id));
        var locals = new List<string> { local };
        if (a.User is not null)
        {
            var forward = $"&{local}@{a.Domain.Name}";
            locals.AddRange(store.ListAliases(a.Domain.Id)
                .Where(x => x.Lines.Count == 1 && x.Lines[0].Equals(forward, StringComparison.OrdinalIgnoreCase)).Select(x => x.Local));
        }
        var names = new HashSet<string>(StringComparer.Ordinal) { AutoreplyRules.Normalize(recipient) };
        foreach (var l in locals)
            foreach (var d in domains)
                names.Add(AutoreplyRules.Normalize($"{l}@{d}"));
        return names;
    }

    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "autoreply id={QueueId} reply={ReplyId} from=<{Address}> to=<{To}> size={Size}")]
    private static partial void Answered(ILogger logger, string queueId, string replyId, string address, string to, long size);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "autoreply skipped id={QueueId} from=<{Address}> to=<{To}> reason={Reason}")]
    private static partial void NotAnswered(ILogger logger, string queueId, string address, string to, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Warning, Message = "autoreply failed id={QueueId} from=<{Address}> to=<{To}> reason={Reason}")]
    private static partial void AnswerFailed(ILogger logger, string queueId, string address, string to, string reason);
}
