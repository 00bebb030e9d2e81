// CONDSTORE and QRESYNC (RFC 7162) and QUOTA (RFC 9208) on the session's side: mod-sequences come
// from the store (docs/mail-store.md, mailward-modseq); here they are switched on, asked for in
// SELECT, and a client's cached state is brought up to date with VANISHED (EARLIER) and FETCH.
using Mailward.Core.MailStore;

namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    /// <summary>RFC 7162 §3.1: once on, every FETCH of flags carries MODSEQ; the selected mailbox learns it at once.</summary>
    private void EnableCondStore()
    {
        if (_condstore)
            return;
        _condstore = true;
        if (_selected is { } s)
        {
            s.View.CondStore = true;
            Untagged($"OK [HIGHESTMODSEQ {s.Mailbox.HighestModSeq}] mod-sequences on");
        }
    }

    /// <summary>
    /// SELECT's QRESYNC parameter (RFC 7162 §3.2.5): (uidvalidity modseq [known-uids [seq-match]]).
    /// When the UIDVALIDITY is the client's, it hears what vanished and what changed since its
    /// mod-sequence; otherwise nothing (it must resynchronise in full). Null when the parameter is malformed.
    /// </summary>
    private string? QResyncSelect(ImapToken parameter)
    {
        var p = parameter.Items;
        if (p.Count is < 2 or > 4 || !uint.TryParse(p[0].Text, out var validity) || !ulong.TryParse(p[1].Text, out var modSeq) || modSeq == 0)
            return "QRESYNC (uidvalidity modseq [known-uids])";
        SequenceSet? known = null;
        if (p.Count >= 3 && p[2].Kind == ImapTokenKind.Atom && (known = SequenceSet.Parse(p[2].Text)) is null)
            return "invalid known-uids";
        var s = _selected!;
        if (validity != s.Mailbox.UidValidity)
            return null;
        var vanished = s.Mailbox.ExpungedSince(modSeq)
            .SelectMany(r => Enumerable.Range(0, (int)Math.Min(r.Last - r.First + 1, 1_000_000)).Select(i => r.First + (uint)i))
            .Where(u => known is null || known.Contains(u, uint.MaxValue))
            .ToList();
        if (vanished.Count > 0)
            Untagged("VANISHED (EARLIER) " + SequenceSet.Format(vanished));
        foreach (var e in s.Mailbox.Entries)
            if (e.ModSeq > modSeq && (known is null || known.Contains(e.Uid, uint.MaxValue)))
                Untagged($"{s.View.SeqOf(e.Uid)} FETCH (UID {e.Uid} FLAGS ({SelectedView.FlagText(e)}) MODSEQ ({e.ModSeq}))");
        return null;
    }

    /// <summary>GETQUOTAROOT and GETQUOTA (RFC 9208 §4.2, §4.3): the owner's roots, STORAGE in KiB and MESSAGE as a count.</summary>
    private async Task<bool> QuotaAsync(string tag, string name, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (args.Count != 1 || args[0].AString is not { } arg)
            return Bad(tag, name + (name == "GETQUOTA" ? " root" : " mailbox"));
        var roots = await services.Store.QuotaAsync(_owner!, ct);
        if (name == "GETQUOTAROOT")
        {
            StoreName(args[0]); // the mailbox must be a name of this user's
            Untagged($"QUOTAROOT {MailboxName(FromClient(arg))}{string.Concat(roots.Select(r => " " + AString(r.Name)))}");
        }
        var asked = name == "GETQUOTA" ? roots.Where(r => r.Name == arg).ToList() : roots;
        if (name == "GETQUOTA" && asked.Count == 0)
            return No(tag, "[NONEXISTENT] no such quota root");
        foreach (var r in asked)
        {
            var resources = new List<string>();
            if (r.Limit.Bytes > 0)
                resources.Add($"STORAGE {(r.Usage.Bytes + 1023) / 1024} {r.Limit.Bytes / 1024}");
            if (r.Limit.Messages > 0)
                resources.Add($"MESSAGE {r.Usage.Messages} {r.Limit.Messages}");
            Untagged($"QUOTA {AString(r.Name)} ({string.Join(' ', resources)})");
        }
        return Ok(tag, name + " completed");
    }
}
