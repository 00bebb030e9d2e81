// IMAP's selected-state commands (RFC 9051 §6.4): CLOSE, UNSELECT (RFC 3691), EXPUNGE and UID
// EXPUNGE (RFC 4315), STORE, COPY and MOVE (RFC 6851) with UIDPLUS answers, and the announcement of
// other sessions' changes (EXISTS, EXPUNGE, FETCH FLAGS) at the points RFC 9051 §7.5.1 allows.
using Mailward.Core.MailStore;

namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    private SelectedMailbox? _selected;

    /// <summary>
    /// Syncs the selected mailbox and tells the client what changed; expunges only where allowed.
    /// Unless <paramref name="force"/>d (NOOP, CHECK, IDLE, after an EXPUNGE or MOVE), it reads the
    /// folder only when this node announced a change of it: a FETCH in a 100,000-message folder does
    /// not list the folder first. Changes made by other nodes or programs show at the next forced sync.
    /// </summary>
    private async Task AnnounceChangesAsync(bool allowExpunge, CancellationToken ct, bool force = true)
    {
        if (_selected is not { } s)
            return;
        if (!force && !s.HasChanged)
            return;
        s.Rearm();
        await s.Mailbox.SyncAsync(ct);
        if (s.Mailbox.UidValidity != s.UidValidity)
        {
            // The folder's UID list was lost and made anew: the client's UIDs mean nothing now (RFC 9051 §2.3.1.1).
            CloseSelected();
            Untagged("BYE the mailbox's UIDVALIDITY changed; reconnect to resynchronise");
            _closeReason = "uidvalidity changed";
            throw new IOException("uidvalidity changed");
        }
        foreach (var line in s.View.Changes(s.Mailbox.Entries, allowExpunge))
            Untagged(line);
    }

    /// <summary>The messages a sequence-set argument names, or null after a BAD reply.</summary>
    private List<(int Seq, uint Uid)>? Messages(string tag, ImapToken arg, bool uid)
    {
        if (arg.Kind != ImapTokenKind.Atom || SequenceSet.Parse(arg.Text) is not { } set)
        {
            Bad(tag, "invalid sequence set");
            return null;
        }
        var picked = _selected!.View.Select(set, uid);
        if (picked is null)
            Bad(tag, "invalid message sequence number");
        return picked;
    }

    private async Task<bool> CloseAsync(string tag, bool expunge, CancellationToken ct)
    {
        var s = _selected!;
        if (expunge)
        {
            await s.Mailbox.SyncAsync(ct);
            await s.Mailbox.ExpungeAsync(s.Mailbox.Entries.Where(e => e.Flags.HasFlag(MessageFlags.Deleted)).Select(e => e.Uid).ToList(), ct);
        }
        CloseSelected();
        return Ok(tag, (expunge ? "CLOSE" : "UNSELECT") + " completed");
    }

    private async Task<bool> ExpungeAsync(string tag, HashSet<uint>? only, CancellationToken ct)
    {
        var s = _selected!;
        if (s.ReadOnly)
            return No(tag, "[READ-ONLY] the mailbox is open read-only");
        await s.Mailbox.SyncAsync(ct);
        var doomed = s.Mailbox.Entries.Where(e => e.Flags.HasFlag(MessageFlags.Deleted) && (only is null || only.Contains(e.Uid))).Select(e => e.Uid).ToList();
        await s.Mailbox.ExpungeAsync(doomed, ct);
        await AnnounceChangesAsync(allowExpunge: true, ct);
        return Ok(tag, "EXPUNGE completed");
    }

    private async Task<bool> UidExpungeAsync(string tag, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (args.Count != 1)
            return Bad(tag, "UID EXPUNGE uid-set");
        if (Messages(tag, args[0], uid: true) is not { } picked)
            return true;
        return await ExpungeAsync(tag, picked.Select(p => p.Uid).ToHashSet(), ct);
    }

    private async Task<bool> StoreAsync(string tag, IReadOnlyList<ImapToken> args, bool uid, CancellationToken ct)
    {
        ulong? unchangedSince = null;
        if (args.Count >= 2 && args[1].Kind == ImapTokenKind.List)
        {
            // RFC 7162 §3.1.3: STORE set (UNCHANGEDSINCE modseq) ...
            var m = args[1].Items;
            if (m.Count != 2 || !m[0].IsAtom("UNCHANGEDSINCE") || !ulong.TryParse(m[1].Text, out var since))
                return Bad(tag, "STORE set (UNCHANGEDSINCE modseq) ...");
            unchangedSince = since;
            args = [args[0], .. args.Skip(2)];
            EnableCondStore();
        }
        if (args.Count < 3)
            return Bad(tag, "STORE set +FLAGS|-FLAGS|FLAGS[.SILENT] (flags)");
        var s = _selected!;
        if (Messages(tag, args[0], uid) is not { } picked)
            return true;
        var action = args[1].Text.ToUpperInvariant();
        var silent = action.EndsWith(".SILENT", StringComparison.Ordinal);
        if (silent)
            action = action[..^7];
        if (action is not ("FLAGS" or "+FLAGS" or "-FLAGS") || args[1].Kind != ImapTokenKind.Atom)
            return Bad(tag, "STORE takes FLAGS, +FLAGS or -FLAGS");
        var flagTokens = args.Count == 3 && args[2].Kind == ImapTokenKind.List ? args[2].Items : args.Skip(2).ToList();
        if (ParseFlags(flagTokens) is not { } parsed)
            return Bad(tag, "invalid flag");
        if (s.ReadOnly)
            return No(tag, "[READ-ONLY] the mailbox is open read-only");
        await AnnounceChangesAsync(allowExpunge: uid, ct, force: false);
        var mode = action switch
        {
            "FLAGS" => FlagChangeMode.Replace,
            "+FLAGS" => FlagChangeMode.Add,
            _ => FlagChangeMode.Remove,
        };
        var result = await s.Mailbox.StoreAsync(picked.Select(p => p.Uid).ToList(), new FlagChange(mode, parsed.Flags, parsed.Keywords), unchangedSince, ct);
        var changed = result.Changed.Select(e => e.Uid).ToHashSet();
        foreach (var after in result.Changed.Concat(result.Unchanged).OrderBy(e => e.Uid))
        {
            var sequence = s.View.SeqOf(after.Uid);
            if (sequence == 0)
                continue;
            s.View.Told(after);
            var modSeq = _condstore ? $" MODSEQ ({after.ModSeq})" : "";
            if (!silent)
                Untagged($"{sequence} FETCH ({(uid ? $"UID {after.Uid} " : "")}FLAGS ({SelectedView.FlagText(after)}){modSeq})");
            else if (_condstore && changed.Contains(after.Uid))
                Untagged($"{sequence} FETCH ({(uid ? $"UID {after.Uid} " : "")}MODSEQ ({after.ModSeq}))"); // RFC 7162 §3.1.3: the new MODSEQ even when silent
        }
        if (result.Modified.Count > 0)
        {
            // RFC 7162 §3.1.3: the messages UNCHANGEDSINCE protected, by UID for UID STORE, else by number.
            var set = uid ? result.Modified.Order() : result.Modified.Select(u => (uint)s.View.SeqOf(u)).Where(n => n > 0).Order();
            return Ok(tag, $"[MODIFIED {SequenceSet.Format(set)}] conditional STORE failed for some messages");
        }
        return Ok(tag, "STORE completed");
    }

    /// <summary>A flag list: the system flags and keywords (atoms); \Recent and unknown system flags are refused.</summary>
    private static (MessageFlags Flags, List<string> Keywords)? ParseFlags(IEnumerable<ImapToken> tokens)
    {
        var flags = MessageFlags.None;
        var keywords = new List<string>();
        foreach (var t in tokens)
        {
            if (t.Kind != ImapTokenKind.Atom)
                return null;
            switch (t.Text.ToUpperInvariant())
            {
                case "\\SEEN": flags |= MessageFlags.Seen; break;
                case "\\ANSWERED": flags |= MessageFlags.Answered; break;
                case "\\FLAGGED": flags |= MessageFlags.Flagged; break;
                case "\\DELETED": flags |= MessageFlags.Deleted; break;
                case "\\DRAFT": flags |= MessageFlags.Draft; break;
                default:
                    if (t.Text.StartsWith('\\') || t.Text.Length > 100 || t.Text.Any(c => c is '*' or '%' or ']' || c > 0x7e))
                        return null;
                    if (!keywords.Contains(t.Text, StringComparer.OrdinalIgnoreCase))
                        keywords.Add(t.Text);
                    break;
            }
        }
        return (flags, keywords);
    }

    private static MailboxEntry? Find(IReadOnlyList<MailboxEntry> entries, uint uid)
    {
        int lo = 0, hi = entries.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            if (entries[mid].Uid == uid)
                return entries[mid];
            if (entries[mid].Uid < uid)
                lo = mid + 1;
            else
                hi = mid - 1;
        }
        return null;
    }

    private async Task<bool> CopyAsync(string tag, IReadOnlyList<ImapToken> args, bool uid, bool move, CancellationToken ct)
    {
        if (args.Count != 2)
            return Bad(tag, (move ? "MOVE" : "COPY") + " set mailbox");
        var s = _selected!;
        if (Messages(tag, args[0], uid) is not { } picked)
            return true;
        var target = StoreName(args[1]);
        if (move && s.ReadOnly)
            return No(tag, "[READ-ONLY] the mailbox is open read-only");
        uint validity;
        string targetFolder;
        try
        {
            using var box = await services.Store.OpenAsync(_owner!, target, ct);
            validity = box.UidValidity;
            targetFolder = box.Folder;
        }
        catch (DirectoryNotFoundException)
        {
            return No(tag, "[TRYCREATE] no such mailbox");
        }
        catch (ArgumentException)
        {
            return No(tag, "[CANNOT] not a valid mailbox name"); // found by the fuzz target: "~x", or over 200 bytes
        }
        var result = move ? await s.Mailbox.MoveAsync(picked.Select(p => p.Uid).ToList(), target, ct)
            : await s.Mailbox.CopyAsync(picked.Select(p => p.Uid).ToList(), target, ct);
        var from = result.Uids.Select(u => u.Source).ToList();
        var to = result.Uids.Select(u => u.Target).ToList();
        validity = result.UidValidity;
        var copyUid = from.Count == 0 ? "" : $"[COPYUID {validity} {SequenceSet.Format(from)} {SequenceSet.Format(to)}] ";
        if (move)
        {
            // RFC 6851 §4.3: COPYUID comes untagged, before the expunges.
            if (copyUid.Length > 0)
                Untagged("OK " + copyUid.TrimEnd() + " moved");
            await AnnounceChangesAsync(allowExpunge: true, ct);
            return Ok(tag, "MOVE completed");
        }
        // RFC 9051 §5.2: a size change seen while a command runs is reported before its end, so a
        // COPY into the selected folder says EXISTS now, as APPEND there does, not at the next command.
        if (s.Mailbox.Folder == targetFolder)
            await AnnounceChangesAsync(allowExpunge: false, ct);
        return Ok(tag, copyUid + "COPY completed");
    }
}
