// IMAP's mailbox commands (RFC 9051 §6.3): SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
// UNSUBSCRIBE, LIST (with LIST-EXTENDED, RFC 5258; LIST-STATUS, RFC 5819; SPECIAL-USE, RFC 6154),
// LSUB (rev1) and STATUS (with STATUS=SIZE, RFC 8438). Names go through ImapFolderNames; on the
// wire they are modified UTF-7 (RFC 3501 §5.1.3) until the client enables IMAP4rev2, UTF-8 after
// (RFC 9051 §5.1): FromClient decodes every mailbox argument, MailboxName encodes every reply.
using System.Text;
using System.Text.RegularExpressions;
using Mailward.Core.MailStore;

namespace Mailward.Protocols.Imap;

public sealed partial class ImapSession
{
    private ImapFolderNames? _names;

    private ImapFolderNames Names => _names ??= new ImapFolderNames(options.NamespacePrefix, options.Separator);

    /// <summary>The store's name of a mailbox argument, or a NO with its response code.</summary>
    private string StoreName(ImapToken arg)
    {
        var wire = FromClient(arg.AString ?? throw new ImapFolderException("[CANNOT] a mailbox name is an atom or a string"));
        return Names.ToStore(wire) ?? throw new ImapFolderException(
            $"[NONEXISTENT] no such mailbox; mailboxes are INBOX and names under \"{Names.Prefix}\" separated by \"{Names.Separator}\"");
    }

    /// <summary>
    /// A mailbox name (or LIST reference and pattern) as the client sent it, in Unicode: as it stands
    /// once IMAP4rev2 is on, else decoded from modified UTF-7. A rev1 name that is not valid modified
    /// UTF-7 (an '&amp;' without a well-formed shift, or 8-bit text) is refused; one that is plain ASCII
    /// goes on as it is, so the store's own name rules answer for control characters and the like.
    /// </summary>
    private string FromClient(string raw)
    {
        if (_utf8)
            return raw;
        if (ModifiedUtf7.TryDecode(raw, out var name))
            return name;
        if (!raw.Contains('&', StringComparison.Ordinal) && raw.All(char.IsAscii))
            return raw;
        throw new ImapFolderException("[CANNOT] mailbox name is not valid modified UTF-7 (RFC 3501 §5.1.3); ENABLE IMAP4rev2 to use UTF-8");
    }

    private string? SpecialUseOf(string storeName) =>
        options.SpecialUseFolders.FirstOrDefault(f => f.Name.Equals(storeName, StringComparison.OrdinalIgnoreCase)).Use;

    /// <summary>Sent, Drafts, Trash, Junk and Archive exist (and are subscribed) from the first login on, so every client finds the same ones.</summary>
    private async Task EnsureSpecialUseFoldersAsync(CancellationToken ct)
    {
        var existing = await services.Store.ListFoldersAsync(_owner!, ct);
        foreach (var (name, _) in options.SpecialUseFolders)
        {
            if (existing.Contains(name, StringComparer.OrdinalIgnoreCase))
                continue;
            try
            {
                await services.Store.CreateFolderAsync(_owner!, name, ct);
                await services.Store.SubscribeAsync(_owner!, name, true, ct);
            }
            catch (IOException)
            {
                // made by another session meanwhile
            }
        }
    }

    private async Task<IMailbox> OpenFolderAsync(string storeName, CancellationToken ct)
    {
        try
        {
            return await services.Store.OpenAsync(_owner!, storeName, ct);
        }
        catch (DirectoryNotFoundException)
        {
            throw new ImapFolderException("[NONEXISTENT] no such mailbox");
        }
        catch (ArgumentException)
        {
            throw new ImapFolderException("[CANNOT] not a valid mailbox name");
        }
    }

    private async Task<bool> CreateAsync(string tag, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (args.Count is < 1 or > 2)
            return Bad(tag, "CREATE mailbox");
        var wire = FromClient(args[0].AString ?? "");
        // RFC 9051 §6.3.4: a trailing separator only says the name will have children.
        if (wire.Length > 1 && wire[^1] == Names.Separator)
            wire = wire[..^1];
        if (Names.ToStore(wire) is not { } name)
            return No(tag, $"[CANNOT] mailboxes are INBOX and names under \"{Names.Prefix}\" separated by \"{Names.Separator}\"");
        if (name == "INBOX")
            return No(tag, "[ALREADYEXISTS] INBOX always exists");
        try
        {
            // Parents are made too (RFC 9051 §6.3.4), so the hierarchy has no holes.
            var levels = name.Split('/');
            var existing = await services.Store.ListFoldersAsync(_owner!, ct);
            if (existing.Contains(name, StringComparer.Ordinal))
                return No(tag, "[ALREADYEXISTS] mailbox exists");
            for (var i = 1; i < levels.Length; i++)
            {
                var parent = string.Join('/', levels[..i]);
                if (!existing.Contains(parent, StringComparer.Ordinal))
                    await services.Store.CreateFolderAsync(_owner!, parent, ct);
            }
            await services.Store.CreateFolderAsync(_owner!, name, ct);
        }
        catch (ArgumentException)
        {
            return No(tag, "[CANNOT] not a valid mailbox name");
        }
        catch (IOException)
        {
            return No(tag, "[ALREADYEXISTS] mailbox exists");
        }
        return Ok(tag, "CREATE completed");
    }

    private async Task<bool> DeleteAsync(string tag, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (args.Count != 1)
            return Bad(tag, "DELETE mailbox");
        var name = StoreName(args[0]);
        if (name == "INBOX")
            return No(tag, "[CANNOT] INBOX cannot be deleted");
        if (_selected?.Mailbox.Folder == name)
            CloseSelected();
        try
        {
            await services.Store.DeleteFolderAsync(_owner!, name, ct);
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            return No(tag, "[NONEXISTENT] no such mailbox");
        }
        await services.Store.SubscribeAsync(_owner!, name, false, ct);
        return Ok(tag, "DELETE completed");
    }

    private async Task<bool> RenameAsync(string tag, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (args.Count != 2)
            return Bad(tag, "RENAME from to");
        var from = StoreName(args[0]);
        var to = StoreName(args[1]);
        if (to == "INBOX")
            return No(tag, "[ALREADYEXISTS] INBOX always exists");
        if (from == "INBOX")
            return await RenameInboxAsync(tag, to, ct);
        try
        {
            await services.Store.RenameFolderAsync(_owner!, from, to, ct);
        }
        catch (ArgumentException)
        {
            return No(tag, "[CANNOT] not a valid mailbox name");
        }
        catch (IOException)
        {
            var existing = await services.Store.ListFoldersAsync(_owner!, ct);
            return No(tag, existing.Contains(to, StringComparer.Ordinal) ? "[ALREADYEXISTS] the new name exists" : "[NONEXISTENT] no such mailbox");
        }
        var subscriptions = await services.Store.SubscriptionsAsync(_owner!, ct);
        if (subscriptions.Contains(from))
        {
            await services.Store.SubscribeAsync(_owner!, from, false, ct);
            await services.Store.SubscribeAsync(_owner!, to, true, ct);
        }
        return Ok(tag, "RENAME completed");
    }

    /// <summary>RFC 9051 §6.3.6: renaming INBOX moves its messages into a new mailbox and leaves INBOX empty.</summary>
    private async Task<bool> RenameInboxAsync(string tag, string to, CancellationToken ct)
    {
        try
        {
            await services.Store.CreateFolderAsync(_owner!, to, ct);
        }
        catch (Exception e) when (e is IOException or ArgumentException)
        {
            return No(tag, "[ALREADYEXISTS] the new name exists or is not valid");
        }
        using var inbox = await OpenFolderAsync("INBOX", ct);
        foreach (var e in inbox.Entries.ToList())
            await inbox.MoveAsync(e.Uid, to, ct);
        return Ok(tag, "RENAME completed");
    }

    private async Task<bool> SubscribeAsync(string tag, IReadOnlyList<ImapToken> args, bool subscribe, CancellationToken ct)
    {
        if (args.Count != 1)
            return Bad(tag, (subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE") + " mailbox");
        var name = StoreName(args[0]);
        try
        {
            await services.Store.SubscribeAsync(_owner!, name, subscribe, ct);
        }
        catch (ArgumentException)
        {
            return No(tag, "[CANNOT] not a valid mailbox name");
        }
        return Ok(tag, (subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE") + " completed");
    }

    private async Task<bool> ListAsync(string tag, IReadOnlyList<ImapToken> args, bool lsub, CancellationToken ct)
    {
        var i = 0;
        var selectSubscribed = lsub;
        var selectSpecialUse = false;
        var extended = false;
        if (!lsub && i < args.Count && args[i].Kind == ImapTokenKind.List)
        {
            extended = true;
            foreach (var o in args[i++].Items)
            {
                if (o.IsAtom("SUBSCRIBED"))
                    selectSubscribed = true;
                else if (o.IsAtom("SPECIAL-USE"))
                    selectSpecialUse = true;
                else if (!o.IsAtom("RECURSIVEMATCH") && !o.IsAtom("REMOTE"))
                    return Bad(tag, "unknown LIST selection option " + Core.Policy.ClientText.Printable(o.Text, 40));
            }
        }
        if (args.Count < i + 2 || args[i].AString is not { } rawReference)
            return Bad(tag, (lsub ? "LSUB" : "LIST") + " reference pattern");
        var reference = FromClient(rawReference);
        var patterns = (args[i + 1].Kind == ImapTokenKind.List ? args[i + 1].Items.Select(p => p.Text) : [args[i + 1].Text]).Select(FromClient).ToList();
        i += 2;
        // LSUB (RFC 3501 §6.3.9) says only what is subscribed; LIST says children and special use (RFC 5258, RFC 6154).
        bool returnSubscribed = selectSubscribed, returnChildren = !lsub, returnSpecialUse = !lsub;
        IReadOnlyList<ImapToken>? statusItems = null;
        if (!lsub && i < args.Count)
        {
            if (!args[i].IsAtom("RETURN") || i + 1 >= args.Count || args[i + 1].Kind != ImapTokenKind.List)
                return Bad(tag, "LIST ... RETURN (options)");
            extended = true;
            var opts = args[i + 1].Items;
            for (var k = 0; k < opts.Count; k++)
            {
                if (opts[k].IsAtom("SUBSCRIBED"))
                    returnSubscribed = true;
                else if (opts[k].IsAtom("CHILDREN"))
                    returnChildren = true;
                else if (opts[k].IsAtom("SPECIAL-USE"))
                    returnSpecialUse = true;
                else if (opts[k].IsAtom("STATUS") && k + 1 < opts.Count && opts[k + 1].Kind == ImapTokenKind.List)
                    statusItems = opts[++k].Items;
                else
                    return Bad(tag, "unknown LIST return option");
            }
        }
        if (patterns.Count == 1 && patterns[0].Length == 0 && !extended)
        {
            // RFC 9051 §6.3.9: an empty pattern asks for the hierarchy separator and the root.
            Untagged($"{(lsub ? "LSUB" : "LIST")} (\\Noselect) \"{Quote(Names.Separator.ToString())}\" \"\"");
            return Ok(tag, (lsub ? "LSUB" : "LIST") + " completed");
        }
        var folders = (await services.Store.ListFoldersAsync(_owner!, ct)).Select(Names.ToWire).ToList();
        var subscribed = (await services.Store.SubscriptionsAsync(_owner!, ct)).Select(Names.ToWire).ToHashSet(StringComparer.Ordinal);
        var existing = folders.ToHashSet(StringComparer.Ordinal);
        // Names that exist, subscribed names, and the parents a folder implies (Maildir++ may hold .A.B without .A).
        var all = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var f in folders.Concat(selectSubscribed ? subscribed : []))
        {
            all.Add(f);
            for (var p = f.LastIndexOf(Names.Separator); p > 0; p = f.LastIndexOf(Names.Separator, p - 1))
                all.Add(f[..p]);
        }
        var matchers = patterns.Select(p => Pattern(reference, p)).ToList();
        foreach (var name in all)
        {
            if (!matchers.Any(m => m.IsMatch(name)))
                continue;
            var isSubscribed = subscribed.Contains(name);
            var exists = existing.Contains(name);
            if (selectSubscribed && !isSubscribed)
                continue;
            var storeName = exists ? Names.ToStore(name) : null;
            var use = storeName is null ? null : SpecialUseOf(storeName);
            if (selectSpecialUse && use is null)
                continue;
            var attrs = new List<string>();
            if (!exists)
                attrs.Add(extended ? "\\NonExistent" : "\\Noselect");
            if (returnChildren)
                attrs.Add(all.Any(n => n.Length > name.Length + 1 && n.StartsWith(name + Names.Separator, StringComparison.Ordinal)) ? "\\HasChildren" : "\\HasNoChildren");
            if (returnSubscribed && isSubscribed && !lsub)
                attrs.Add("\\Subscribed");
            if (returnSpecialUse && use is not null)
                attrs.Add(use);
            Untagged($"{(lsub ? "LSUB" : "LIST")} ({string.Join(' ', attrs)}) \"{Quote(Names.Separator.ToString())}\" {MailboxName(name)}");
            if (statusItems is not null && exists && storeName is not null)
                await WriteStatusAsync(name, storeName, statusItems, ct);
        }
        return Ok(tag, (lsub ? "LSUB" : "LIST") + " completed");
    }

    /// <summary>A LIST pattern (RFC 9051 §6.3.9): "*" matches anything, "%" anything but the separator; INBOX in any case.</summary>
    private Regex Pattern(string reference, string pattern)
    {
        var full = reference + pattern;
        if (full.StartsWith("INBOX", StringComparison.OrdinalIgnoreCase) && (full.Length == 5 || full[5] == Names.Separator))
            full = "INBOX" + full[5..];
        var sb = new StringBuilder("^");
        foreach (var c in full)
            sb.Append(c switch
            {
                '*' => ".*",
                '%' => "[^" + Regex.Escape(Names.Separator.ToString()) + "]*",
                _ => Regex.Escape(c.ToString()),
            });
        sb.Append('$');
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    /// <summary>A mailbox name as a reply writes it: modified UTF-7 for a rev1 session, UTF-8 after ENABLE IMAP4rev2.</summary>
    private string MailboxName(string wire) => AString(_utf8 ? wire : ModifiedUtf7.Encode(wire));

    private async Task<bool> StatusAsync(string tag, IReadOnlyList<ImapToken> args, CancellationToken ct)
    {
        if (args.Count != 2 || args[1].Kind != ImapTokenKind.List || args[1].Items.Count == 0)
            return Bad(tag, "STATUS mailbox (items)");
        var name = StoreName(args[0]);
        foreach (var item in args[1].Items)
            if (!StatusItems.Contains(item.Text.ToUpperInvariant()))
                return Bad(tag, "unknown STATUS item");
        if (args[1].Items.Any(i => i.IsAtom("HIGHESTMODSEQ")))
            EnableCondStore();
        await WriteStatusAsync(FromClient(args[0].AString!), name, args[1].Items, ct);
        return Ok(tag, "STATUS completed");
    }

    private static readonly HashSet<string> StatusItems = ["MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "SIZE", "RECENT", "DELETED", "HIGHESTMODSEQ"];

    private async Task WriteStatusAsync(string wire, string storeName, IReadOnlyList<ImapToken> items, CancellationToken ct)
    {
        using var box = await OpenFolderAsync(storeName, ct);
        var values = new List<string>();
        foreach (var item in items)
        {
            var key = item.Text.ToUpperInvariant();
            var value = key switch
            {
                "MESSAGES" => box.Entries.Count.ToString(),
                "UIDNEXT" => box.UidNext.ToString(),
                "UIDVALIDITY" => box.UidValidity.ToString(),
                "UNSEEN" => box.Entries.Count(e => !e.Flags.HasFlag(MessageFlags.Seen)).ToString(),
                "SIZE" => box.Entries.Sum(box.VirtualSizeOf).ToString(),
                "RECENT" => "0", // Maildir shares no \Recent between sessions; IMAP4rev2 dropped it
                "DELETED" => box.Entries.Count(e => e.Flags.HasFlag(MessageFlags.Deleted)).ToString(),
                "HIGHESTMODSEQ" => box.HighestModSeq.ToString(), // RFC 7162 §3.1.9
                _ => null,
            };
            if (value is not null)
                values.Add(key + " " + value);
        }
        Untagged($"STATUS {MailboxName(wire)} ({string.Join(' ', values)})");
    }

    private async Task<bool> SelectAsync(string tag, IReadOnlyList<ImapToken> args, bool readOnly, CancellationToken ct)
    {
        if (args.Count is < 1 or > 2 || args.Count == 2 && args[1].Kind != ImapTokenKind.List)
            return Bad(tag, "SELECT mailbox [(CONDSTORE | QRESYNC (...))]");
        ImapToken? qresync = null;
        if (args.Count == 2)
        {
            var p = args[1].Items;
            for (var i = 0; i < p.Count; i++)
            {
                if (p[i].IsAtom("CONDSTORE"))
                    _condstore = true; // RFC 7162 §3.1.8: SELECT (CONDSTORE) turns it on
                else if (p[i].IsAtom("QRESYNC") && _qresync && i + 1 < p.Count && p[i + 1].Kind == ImapTokenKind.List)
                    qresync = p[++i];
                else
                    return Bad(tag, _qresync || !p[i].IsAtom("QRESYNC") ? "unknown SELECT parameter" : "ENABLE QRESYNC first (RFC 7162 §3.2.5)");
            }
        }
        var hadSelected = _selected is not null;
        CloseSelected();
        if (hadSelected && (_rev2 || _qresync))
            Untagged("OK [CLOSED] previous mailbox closed");
        var name = StoreName(args[0]);
        var box = await OpenFolderAsync(name, ct);
        _selected = new SelectedMailbox(box, readOnly, services.Events);
        _selected.View.CondStore = _condstore;
        _selected.View.QResync = _qresync;
        // Kept with a shared listing: a SELECT of a big folder nobody changed walks no messages.
        var summary = box.Summary();
        var flags = "\\Answered \\Flagged \\Deleted \\Seen \\Draft" + string.Concat(summary.Keywords.Select(k => " " + k));
        Untagged($"{_selected.View.Count} EXISTS");
        if (!_rev2)
        {
            Untagged("0 RECENT");
            var firstUnseen = summary.FirstUnseen;
            if (firstUnseen > 0)
                Untagged($"OK [UNSEEN {firstUnseen}] first unseen");
        }
        Untagged($"FLAGS ({flags})");
        // RFC 9051 §7.1: a read-only selection keeps no flag change, so it lists none.
        Untagged(readOnly ? "OK [PERMANENTFLAGS ()] read-only mailbox" : $"OK [PERMANENTFLAGS ({flags} \\*)] flags permitted");
        Untagged($"OK [UIDVALIDITY {box.UidValidity}] UIDs valid");
        Untagged($"OK [UIDNEXT {box.UidNext}] predicted next UID");
        if (_condstore)
            Untagged($"OK [HIGHESTMODSEQ {box.HighestModSeq}] highest mod-sequence");
        if (_rev2)
            Untagged($"LIST () \"{Quote(Names.Separator.ToString())}\" {MailboxName(Names.ToWire(box.Folder))}");
        if (qresync is not null && QResyncSelect(qresync) is { } error)
        {
            CloseSelected();
            return Bad(tag, error);
        }
        return Ok(tag, $"[{(readOnly ? "READ-ONLY" : "READ-WRITE")}] {(readOnly ? "EXAMINE" : "SELECT")} completed");
    }

    private void CloseSelected()
    {
        _selected?.Dispose();
        _selected = null;
    }
}
