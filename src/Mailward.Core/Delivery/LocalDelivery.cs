// Local delivery for hosted domains, resolving like qmail-local + vdelivermail: alias lines, the
// user, an extension of either, then the catch-all. Maildir targets are written first; forwards
// (&address) are queued afterwards through the queue's one entry, as qmail-local orders them.
// mbox lines are appended under a lock; |program lines run where Delivery:ProgramDomains allows.
// Maildir and mbox lines outside the mail store need Delivery:AllowedExternalPaths.
// User mailboxes honour Maildir++ quotas (user and domain).
// A target that several recipients (or alias lines) of one message reach gets one copy: Postfix
// local(8)'s duplicate elimination, keyed by the Maildir, mbox, program or forward address.
// An address with an active autoresponder is answered after its mail is delivered (or, when it
// only answers, instead of delivering): docs/autoresponder.md. A mailing list's address and its
// command addresses go to the list (docs/lists.md); a list copy's VERP sender is expanded here, and
// its per-subscriber List-Unsubscribe put on top (IRecipientFields).
using System.Buffers;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Autoresponder;
using Mailward.Core.Lists;
using Mailward.Core.MailStore;
using Mailward.Core.MailStore.Maildir;
using Mailward.Core.MailStore.Quotas;
using Mailward.Core.Policy;
using Mailward.Core.Queue;
using Mailward.Core.Routing;

namespace Mailward.Core.Delivery;

/// <summary>What local delivery needs besides the store: its name, and who may run programs for how long.</summary>
public sealed record LocalDeliveryOptions(string Hostname)
{
    /// <summary>Where a delivery to a user's Maildir is announced (IMAP IDLE listens); null: nowhere.</summary>
    public MailboxEvents? Events { get; init; }

    /// <summary>Node:Id, part of every Maildir name this node writes (docs/mail-store.md).</summary>
    public string NodeId { get; init; } = System.Net.Dns.GetHostName();
    public IReadOnlySet<string> ProgramDomains { get; init; } = new HashSet<string>();
    public TimeSpan ProgramTimeout { get; init; } = TimeSpan.FromMinutes(10);
    public IReadOnlyList<string> AllowedExternalPaths { get; init; } = [];

    /// <summary>Fields made for each recipient (a list copy's one-click List-Unsubscribe); null: none.</summary>
    public IRecipientFields? RecipientFields { get; init; }
    public bool ProgramsAllowedFor(string domain) => ProgramDomains.Contains("*") || ProgramDomains.Contains(domain);
}

public sealed class LocalDelivery(IAccountStore store, RecipientResolver resolver, MailStoreLayout layout, QueueStore queue,
    LocalDeliveryOptions options, TimeProvider? time = null, AutoresponderAgent? autoresponder = null, ListAgent? lists = null)
{
    private readonly string hostname = options.Hostname;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly DomainUsageCache _domainUsage = new(store, layout, time ?? TimeProvider.System);

    private abstract record Target
    {
        /// <summary>What makes two targets the same final destination, for duplicate elimination.</summary>
        public abstract string Key { get; }
    }

    private sealed record ToMaildir(string Maildir, UserRecord? Owner = null) : Target
    {
        public override string Key => "maildir:" + System.IO.Path.GetFullPath(Maildir).TrimEnd('/');
    }

    private sealed record ToMbox(string Path) : Target
    {
        public override string Key => "mbox:" + System.IO.Path.GetFullPath(Path);
    }

    private sealed record ToProgram(string Command) : Target
    {
        public override string Key => "program:" + Command;
    }

    private sealed record ToForward(string Address) : Target
    {
        public override string Key => "forward:" + Address.ToLowerInvariant();
    }

    /// <summary>
    /// Delivers recipient <paramref name="index"/> of <paramref name="message"/>. With
    /// <paramref name="mayBeRepeat"/> (an earlier attempt at this message may have written files: it
    /// was in the queue at start-up, or this is a retry) a Maildir file of that attempt counts as
    /// delivered. <paramref name="reached"/> holds the keys of the targets this message already
    /// reached: those are skipped, and each target reached now is added.
    /// </summary>
    public async Task<DeliveryResult> DeliverAsync(QueuedMessage message, int index, bool mayBeRepeat, ISet<string>? reached = null, CancellationToken ct = default)
    {
        var recipient = message.Envelope.Recipients[index];
        var at = recipient.LastIndexOf('@');
        if (at <= 0)
            return DeliveryResult.Permanent("5.1.3", "recipient without a domain");
        var resolution = await resolver.ResolveAsync(recipient[..at], recipient[(at + 1)..], ct);
        if (resolution.Kind == ResolutionKind.List)
            return lists is null
                ? DeliveryResult.Temporary("4.3.5", "mailing lists are turned off (Lists:Enabled)")
                : await lists.DeliverAsync(message, index, recipient, resolution, mayBeRepeat, ct);
        // A list copy's VERP sender, made for this recipient (docs/lists.md); any other sender as it is.
        var sender = Verp.Expand(message.Envelope.Sender, recipient);
        var (targets, failure) = await TargetsAsync(resolution, ct);
        if (failure is not null)
            return failure;
        if (targets.Count == 0)
            return DeliveryResult.Delivered("discarded by the catch-all");
        var answering = autoresponder is null ? null : await autoresponder.FindActiveAsync(resolution, resolver, ct);
        // The door's DMARC quarantine (docs/mail-auth.md): users' copies go to Junk, and no autoreply answers a sender who may be forged.
        var quarantined = IsQuarantined(message);
        if (quarantined && answering is { Record.Deliver: false })
            return DeliveryResult.Delivered("quarantined by the door; not kept, not answered");
        if (quarantined)
            answering = null;
        // A list copy's List-Unsubscribe for this subscriber (docs/lists.md, "One-click unsubscribe"), on top of every target's copy.
        var fields = options.RecipientFields is null ? null : await options.RecipientFields.FieldsAsync(message, recipient, ct);
        // One open of the body serves the loop check and every target.
        await using var body = fields is null ? QueueStore.OpenBody(message) : new PrefixedStream(fields, QueueStore.OpenBody(message));
        if (AlreadyDeliveredTo(body, recipient))
            return DeliveryResult.Permanent("5.4.6", $"looping: the message already carries Delivered-To: {recipient}");
        if (answering is { Record.Deliver: false })
        {
            // An address that only answers: nothing is kept (docs/autoresponder.md).
            body.Position = 0;
            return DeliveryResult.Delivered("not kept; " + await autoresponder!.AnswerAsync(message, recipient, answering, body, ct));
        }
        if (targets.OfType<ToProgram>().Any() && !options.ProgramsAllowedFor(resolution.Domain!.Name))
            return DeliveryResult.Permanent("5.3.5", $"delivery to programs is not enabled for {resolution.Domain.Name} (Delivery:ProgramDomains)");
        if (targets.Select(t => t switch { ToMaildir { Owner: null } m => m.Maildir, ToMbox m => m.Path, _ => null })
            .Any(p => p is not null && !ExternalPaths.Allowed(p, layout.Root, options.AllowedExternalPaths)))
            return DeliveryResult.Permanent("5.3.5", "an alias line names a path outside the mail store that Delivery:AllowedExternalPaths does not allow");
        if (await OverQuotaAsync(targets.Where(t => reached?.Contains(t.Key) != true).ToList(), message, resolution.Domain!) is { } overQuota)
            return overQuota;

        var done = new List<string>();
        var forwards = new List<ToForward>();
        // Lines in order; forwards are queued only after every other line succeeded (qmail-local).
        for (var t = 0; t < targets.Count; t++)
        {
            body.Position = 0;
            if (reached?.Contains(targets[t].Key) == true)
            {
                done.Add("duplicate: " + targets[t].Key + " already has this message");
                continue;
            }
            switch (targets[t])
            {
                case ToForward f:
                    forwards.Add(f);
                    break;
                case ToMaildir box:
                    var name = MaildirName.DeliveryBase(message.ArrivedAt, message.QueueId, index, t, options.NodeId);
                    // A user's copy of a quarantined message goes to the user's Junk folder; other Maildir lines are left as they are.
                    var folder = quarantined && box.Owner is not null ? JunkFolder : "INBOX";
                    var into = folder == JunkFolder ? await MaildirStore.DeliveryFolderAsync(box.Maildir, JunkFolder, ct) : box.Maildir;
                    if (mayBeRepeat && MaildirWriter.AlreadyDelivered(into, name,
                            MaildirName.LegacyDeliveryBase(message.ArrivedAt, message.QueueId, index, t), hostname))
                    {
                        MaildirWriter.RemoveLeftover(into, name, hostname);
                        reached?.Add(box.Key);
                        done.Add("already in " + into);
                        break;
                    }
                    var path = MaildirWriter.Deliver(into, name, hostname, sender, recipient, body);
                    reached?.Add(box.Key); // only once the file is there: a failed write is tried again
                    if (box.Owner is not null)
                    {
                        MaildirQuota.Add(box.Maildir, MaildirWriter.SizeOf(path), 1); // Maildir++: folders count toward the INBOX's quota
                        options.Events?.Publish(new MailboxChange(box.Owner.Address, folder, MailboxChangeKind.Added));
                    }
                    done.Add(into);
                    break;
                case ToMbox mbox:
                    await MboxWriter.AppendAsync(mbox.Path, sender, recipient, body, _time.GetUtcNow(), ct);
                    reached?.Add(mbox.Key);
                    done.Add(mbox.Path);
                    break;
                case ToProgram program:
                    var (outcome, detail) = await ProgramRunner.RunAsync(program.Command,
                        new ProgramContext(sender, recipient, recipient[..at], recipient[(at + 1)..], Extension(recipient[..at], resolution)),
                        body, options.ProgramTimeout, ct);
                    if (outcome == ProgramOutcome.Permanent)
                        return DeliveryResult.Permanent("5.3.0", detail);
                    if (outcome == ProgramOutcome.Temporary)
                        return DeliveryResult.Temporary("4.3.0", detail);
                    reached?.Add(program.Key);
                    done.Add("program: " + detail);
                    if (outcome == ProgramOutcome.DeliveredStop)
                        t = targets.Count; // 99: the lines after this one are skipped
                    break;
            }
        }
        foreach (var forward in forwards)
        {
            if (reached?.Contains(forward.Key) == true)
                continue; // two lines of this recipient name the same address
            var id = await ForwardAsync(message, recipient, forward.Address, fields, ct);
            reached?.Add(forward.Key);
            done.Add($"forwarded to <{forward.Address}> as {id}");
        }
        if (answering is not null)
        {
            // After every copy is safely stored: a crash before this line repeats the delivery
            // (its Maildir file is found), and the answer is still at most one (the store's record).
            body.Position = 0;
            done.Add(await autoresponder!.AnswerAsync(message, recipient, answering, body, ct));
        }
        return DeliveryResult.Delivered(string.Join("; ", done));
    }

    /// <summary>The extension part of a local part that resolved to its base (joe-news → news).</summary>
    private static string Extension(string local, Resolution r) =>
        r.Kind == ResolutionKind.Extension && r.Local is { } b && local.Length > b.Length + 1 ? local[(b.Length + 1)..] : "";

    /// <summary>
    /// Maildir++ quota of each user mailbox target and the domain's quota; over → bounce with the
    /// domain's .over-quota.msg text when it has one. Messages of 1 KB or less always pass.
    /// </summary>
    private async Task<DeliveryResult?> OverQuotaAsync(List<Target> targets, QueuedMessage message, DomainRecord domain)
    {
        foreach (var box in targets.OfType<ToMaildir>())
        {
            if (box.Owner is not { } user)
                continue;
            var over = !user.Quota.IsUnlimited && MaildirQuota.WouldExceed(user.Quota, MaildirQuota.Usage(box.Maildir, user.Quota), message.MessageLength);
            var limits = domain.Limits.DomainQuota;
            if (!over && !limits.IsUnlimited && message.MessageLength > MaildirQuota.AlwaysDeliveredBytes)
                over = MaildirQuota.WouldExceed(limits, _domainUsage.Usage(domain), message.MessageLength);
            if (!over)
                continue;
            var custom = Path.Combine(layout.Resolve(domain.Directory), ".over-quota.msg");
            var text = File.Exists(custom) ? (await File.ReadAllTextAsync(custom)).Trim() : "";
            return DeliveryResult.Permanent("5.2.2", (text.Length > 0 ? text : $"{user.Address}: mailbox is over quota") + " (#5.2.2)");
        }
        return null;
    }

    private async ValueTask<(List<Target> Targets, DeliveryResult? Failure)> TargetsAsync(Resolution r, CancellationToken ct)
    {
        switch (r.Kind)
        {
            case ResolutionKind.NotHosted:
                return ([], DeliveryResult.NotLocal("not a hosted domain"));
            case ResolutionKind.NotFound:
                return ([], DeliveryResult.Permanent("5.1.1", "no such user here"));
            case ResolutionKind.CatchAll:
                var c = r.Domain!.CatchAll;
                return c.Kind switch
                {
                    CatchAllKind.Delete => ([], null),
                    CatchAllKind.Forward => ([new ToForward(c.Target!)], null),
                    _ => await MailboxAsync(c.Target!, r.Domain.Name, ct),
                };
            default: // User, Alias, Extension: the alias of that name if there is one, else the user
                if (await resolver.Directory.FindAliasAsync(r.Local!, r.Domain!.Name, ct) is { } alias)
                    return (alias.Lines.Select(Line).ToList(), null);
                return await MailboxAsync(r.Local!, r.Domain.Name, ct);
        }
    }

    private async ValueTask<(List<Target>, DeliveryResult?)> MailboxAsync(string local, string domain, CancellationToken ct)
    {
        var user = await resolver.Directory.FindUserAsync(local, domain, ct);
        if (user is null)
            return ([], DeliveryResult.Permanent("5.1.1", $"no such user here: {local}@{domain}"));
        if (user.Flags.HasFlag(UserFlags.BounceMail))
            return ([], DeliveryResult.Permanent("5.2.1", "this mailbox refuses all mail"));
        return ([new ToMaildir(MailStoreLayout.MaildirOf(layout.Resolve(user.Directory)), user)], null);
    }

    /// <summary>A .qmail-style line: &amp;address, /Maildir/, /mbox, |program (a bare address forwards, as in valias).</summary>
    private static Target Line(string line) => line[0] switch
    {
        '&' => new ToForward(line[1..]),
        '/' when line.EndsWith('/') => new ToMaildir(line.TrimEnd('/')),
        '/' => new ToMbox(line),
        '|' => new ToProgram(line[1..]),
        _ => new ToForward(line),
    };

    /// <summary>A forward is a new message through the queue's one entry, same sender, Delivered-To added for loop detection.</summary>
    private async Task<string> ForwardAsync(QueuedMessage message, string recipient, string address, byte[]? fields, CancellationToken ct)
    {
        var envelope = new QueueEnvelope(Verp.Expand(message.Envelope.Sender, recipient), [address], "127.0.0.1", hostname, "local");
        await using var tx = queue.Begin(envelope);
        await tx.WriteAsync(Encoding.UTF8.GetBytes($"Delivered-To: {recipient}\r\n"), ct);
        if (fields is not null)
            await tx.WriteAsync(fields, ct); // the forwarded copy is still the subscriber's: its one-click link goes along
        await using (var body = QueueStore.OpenBody(message))
        {
            var buffer = new byte[1 << 16];
            int n;
            while ((n = await body.ReadAsync(buffer, ct)) > 0)
                await tx.WriteAsync(buffer.AsMemory(0, n), ct);
        }
        return await tx.CommitAsync(ct);
    }

    /// <summary>The special-use folder (RFC 6154 \\Junk) IMAP makes at the first login, by the same name.</summary>
    private const string JunkFolder = "Junk";

    /// <summary>The door's quarantine mark among the queue's top fields: written only by the door, so a copy in the body counts for nothing.</summary>
    private static bool IsQuarantined(QueuedMessage message)
    {
        if (message.TopFields is not { Length: > 0 } top)
            return false;
        var text = Encoding.ASCII.GetString(top);
        var field = DoorFindings.QuarantineField + ":";
        return text.StartsWith(field, StringComparison.OrdinalIgnoreCase) || text.Contains("\n" + field, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>qmail-local's loop check: a Delivered-To line for this recipient in the header (its first 64 KiB).</summary>
    private static bool AlreadyDeliveredTo(Stream body, string recipient)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            var n = body.ReadAtLeast(buffer.AsSpan(0, 64 * 1024), 64 * 1024, throwOnEndOfStream: false);
            var scanner = new DeliveredToScanner(new HashSet<string>([recipient], StringComparer.OrdinalIgnoreCase));
            scanner.Scan(buffer.AsSpan(0, n));
            return scanner.Looping is not null;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
