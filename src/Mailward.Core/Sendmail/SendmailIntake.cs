// Turns a SendmailRequest into a queued message (docs/pickup-format.md): the user rules, the
// envelope sender, the recipients (arguments and, for -t, the header), the header completed as
// qmail-inject did, the size, free space and hosted mailboxes checked, then QueueStore.Begin →
// Received line → body → CommitAsync like every other producer. Prepare is pure, so sendmail runs
// the same checks itself before it writes a pickup file and exits 0.
using System.Text;
using Mailward.Core.Addresses;
using Mailward.Core.Metrics;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Mailward.Core.Routing;

namespace Mailward.Core.Sendmail;

public sealed record SendmailOptions(string Hostname, string DefaultDomain, long MaxMessageBytes, SendmailRules Rules);

/// <summary>A request that passed the checks: the envelope and the message bytes to queue (no Received line yet).</summary>
public sealed record PreparedSubmission(QueueEnvelope Envelope, byte[] Message, IReadOnlyList<string> Warnings);

public sealed class SendmailIntake(QueueStore queue, SendmailOptions options, RecipientResolver? resolver = null, FreeSpaceGuard? space = null)
{
    public const string LocalProtocol = "local";

    public SendmailOptions Options => options;

    /// <summary>The submission ids of the local messages in the queue now (the pickup drain's memory across a crash).</summary>
    public static HashSet<string> QueuedIds(IEnumerable<QueuedMessage> messages) =>
        messages.Where(m => m.Envelope.Protocol == LocalProtocol && m.Envelope.ClientHelo.Length > 0)
            .Select(m => m.Envelope.ClientHelo).ToHashSet(StringComparer.Ordinal);

    /// <summary>Checks and queues; the outcome says what sendmail exits with.</summary>
    public async Task<SendmailOutcome> SubmitAsync(SendmailRequest request, Action? beforeDelivery = null, CancellationToken ct = default)
    {
        var refusal = Prepare(request, options, out var prepared);
        refusal ??= await CheckMailboxesAsync(resolver, prepared!.Envelope.Recipients, ct);
        if (refusal is not null)
            return refusal;
        if (space is not null && !space.HasRoomFor(prepared!.Message.Length))
            return new SendmailOutcome(SendmailExit.TempFail, "insufficient free space for the queue (Queue:MinFreeBytes); try again later");
        try
        {
            await using var tx = queue.Begin(prepared!.Envelope);
            await tx.WriteAsync(ReceivedLine(request, tx.QueueId, tx.ArrivedAt), ct);
            await tx.WriteAsync(prepared.Message, ct);
            var id = await tx.CommitAsync(beforeDelivery, ct);
            MailwardMetrics.MessageAccepted("sendmail");
            return new SendmailOutcome(SendmailExit.Ok, $"queued as {id}", id, prepared.Warnings);
        }
        catch (IOException e)
        {
            return new SendmailOutcome(SendmailExit.TempFail, "the queue could not take the message: " + e.Message);
        }
    }

    /// <summary>The checks that need no queue; null when the request may be queued as <paramref name="prepared"/>.</summary>
    public static SendmailOutcome? Prepare(SendmailRequest r, SendmailOptions o, out PreparedSubmission? prepared)
    {
        prepared = null;
        if (!o.Rules.MayRun(r.Uid, r.Login))
            return new SendmailOutcome(SendmailExit.NoPermission, $"user {r.Login} (uid {r.Uid}) may not send mail (Sendmail:AllowedUsers)");
        if (r.Body.Length > o.MaxMessageBytes)
            return new SendmailOutcome(SendmailExit.DataError, $"message larger than Smtp:MaxMessageBytes ({o.MaxMessageBytes} bytes)");
        var warnings = new List<string>();
        var own = $"{r.Login}@{o.DefaultDomain}";
        var sender = own;
        if (r.SenderGiven)
        {
            var given = Unbracket(r.Sender);
            if (!o.Rules.IsTrusted(r.Uid, r.Login))
            {
                if (!given.Equals(own, StringComparison.OrdinalIgnoreCase))
                    warnings.Add($"user {r.Login} may not set the sender <{given}> (Sendmail:TrustedUsers); sending as <{own}>");
            }
            else if (given.Length == 0)
                sender = ""; // -f '<>': the null sender (RFC 5321 §4.5.5)
            else if (ForwardAddress.TryNormalize(Qualify(given, o.DefaultDomain), out var normalized, out var error))
                sender = normalized;
            else
                return new SendmailOutcome(SendmailExit.DataError, $"bad sender address <{given}>: {error}");
        }
        LocalMessage message;
        try
        {
            message = LocalMessage.Parse(r.Body);
        }
        catch (ArgumentException e)
        {
            return new SendmailOutcome(SendmailExit.DataError, "cannot read the message: " + e.Message);
        }
        var wanted = r.Recipients.Select(Unbracket).ToList();
        if (r.RecipientsFromHeader)
        {
            if (!message.TryHeaderRecipients(out var fromHeader, out var error))
                return new SendmailOutcome(SendmailExit.DataError, error);
            wanted.AddRange(fromHeader);
        }
        var recipients = new List<string>();
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var w in wanted)
        {
            if (!ForwardAddress.TryNormalize(Qualify(w, o.DefaultDomain), out var address, out var error))
                return new SendmailOutcome(SendmailExit.NoUser, $"<{w}>: {error}");
            if (seen.Add(address))
                recipients.Add(address);
        }
        if (recipients.Count == 0)
            return new SendmailOutcome(SendmailExit.Usage, "no recipients (give them as arguments, or -t to read To, Cc and Bcc)");
        if (recipients.Count > SendmailRequest.MaxRecipients)
            return new SendmailOutcome(SendmailExit.DataError, $"more than {SendmailRequest.MaxRecipients} recipients");
        var bytes = message.Render(r.Id, o.Hostname, r.Created, sender.Length > 0 ? sender : own, r.FullName);
        var envelope = new QueueEnvelope(sender, recipients, $"uid {r.Uid} ({r.Login})", r.Id, LocalProtocol);
        prepared = new PreparedSubmission(envelope, bytes, warnings);
        return null;
    }

    /// <summary>Hosted addresses must have a mailbox (sendmail's "User unknown", exit 67); remote ones are the remote's business.</summary>
    public static async Task<SendmailOutcome?> CheckMailboxesAsync(RecipientResolver? resolver, IEnumerable<string> recipients, CancellationToken ct)
    {
        if (resolver is null)
            return null;
        foreach (var r in recipients)
        {
            var at = r.LastIndexOf('@');
            var resolution = await resolver.ResolveAsync(r[..at], r[(at + 1)..], ct);
            if (resolution.Kind == ResolutionKind.NotFound)
                return new SendmailOutcome(SendmailExit.NoUser, $"<{r}>: no such user here");
        }
        return null;
    }

    /// <summary>RFC 5321 §4.4's trace field for a local submission: who ran sendmail, which queue id, when.</summary>
    private byte[] ReceivedLine(SendmailRequest r, string queueId, DateTimeOffset at)
    {
        var login = new string(r.Login.Take(64).Select(c => c is >= '!' and <= '~' and not '(' and not ')' ? c : '_').ToArray());
        return Encoding.ASCII.GetBytes($"Received: from local (uid {r.Uid}, {login})\r\n\tby {options.Hostname} (Mailward) with local id {queueId};" +
            $" {LocalMessage.Rfc5322Date(at)}\r\n");
    }

    private static string Unbracket(string a)
    {
        var s = a.Trim();
        return s.StartsWith('<') && s.EndsWith('>') ? s[1..^1].Trim() : s;
    }

    /// <summary>A bare login name gets the default domain (qmail's defaulthost).</summary>
    private static string Qualify(string a, string domain) => a.Length > 0 && !a.Contains('@', StringComparison.Ordinal) ? $"{a}@{domain}" : a;
}
