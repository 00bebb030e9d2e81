// APPEND, COPY and MOVE of a Maildir folder (docs/mail-store.md "APPEND, COPY and MOVE"): APPEND
// streams through MaildirWriter into cur/ with the flags in the name; COPY hard-links each file
// under a new name (so one message can be copied twice into one folder); MOVE renames without ever
// replacing a name (renameat2 RENAME_NOREPLACE). Both fsync the folders before the UIDs are given,
// and check the owner's quota roots (RFC 9208 §4.3) before anything is written.
using Mailward.Core.MailStore.Locks;
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore.Maildir;

public sealed partial class MaildirMailbox
{
    private string GuardPath => Path.Combine(_path, UidList.GuardName);

    public Task<uint> AppendAsync(Stream message, MessageFlags flags, DateTimeOffset internalDate, CancellationToken ct = default) =>
        AppendAsync(message, flags, [], internalDate, ct);

    public async Task<uint> AppendAsync(Stream message, MessageFlags flags, IReadOnlyCollection<string> keywords, DateTimeOffset internalDate,
        CancellationToken ct = default)
    {
        var roots = await _store.QuotaAsync(Owner, ct);
        if (keywords.Count > 0)
        {
            using (Guard.Take(GuardPath))
                NameKeywords(keywords);
        }
        var letters = Apply(new FlagChange(FlagChangeMode.Replace, flags, keywords), "");
        var path = await MaildirWriter.AppendAsync(_path, _store.NewBase(internalDate, 'A'), _store.Hostname, message,
            MaildirName.Parse("x").WithFlags(letters)[1..], _store.Options.MaxAppendBytes, size => MaildirStore.CheckQuota(roots, size, 1), ct);
        var name = MaildirName.Parse(Path.GetFileName(path));
        MaildirQuota.Add(_maildir, name.Size ?? 0, 1);
        Sync(report: false); // gives it a UID; the next SyncAsync still reports it (and anything else found) as new
        return _files.FirstOrDefault(f => MaildirName.Parse(f.Value).Key == name.Key).Key is var uid and > 0
            ? uid
            : throw new IOException("the appended message vanished before it got a UID");
    }

    public async Task<uint?> CopyAsync(uint uid, string folder, CancellationToken ct = default) =>
        (await CopyAsync([uid], folder, ct)).Uids is [var pair] ? pair.Target : null;

    public async Task<uint?> MoveAsync(uint uid, string folder, CancellationToken ct = default) =>
        (await MoveAsync([uid], folder, ct)).Uids is [var pair] ? pair.Target : null;

    public async Task<TransferResult> CopyAsync(IReadOnlyCollection<uint> uids, string folder, CancellationToken ct = default)
    {
        var sources = uids.Where(_files.ContainsKey).Distinct().Order().ToList();
        using var target = (MaildirMailbox)await _store.OpenAsync(Owner, folder, ct);
        if (sources.Count == 0)
            return new TransferResult(target.UidValidity, []);
        var entries = sources.Select(u => Find(u)!).ToList();
        MaildirStore.CheckQuota(await _store.QuotaAsync(Owner, ct), entries.Sum(e => e.Size), entries.Count);
        target.NameKeywordsOf(entries);
        Dictionary<uint, string> names;
        using (Guard.Take(GuardPath))
        {
            CatchUpUnderGuard();
            names = CurrentNames(sources);
        }
        var made = new List<(uint Source, string Name)>();
        long bytes = 0;
        using var fromDir = Libc.Open(Cur, Libc.ORdOnly | Libc.ODirectory);
        using var toDir = Libc.Open(target.Cur, Libc.ORdOnly | Libc.ODirectory);
        try
        {
            foreach (var e in entries)
            {
                if (!names.TryGetValue(e.Uid, out var name))
                    continue;
                // A new name for every copy: a second COPY of one message into one folder is a second message.
                var copy = MaildirName.Delivered(_store.NewBase(e.InternalDate, 'C'), MaildirName.HostPart(_store.Hostname), e.Size, VirtualSizeOf(e))
                    + ":2," + target.Translate(MaildirName.Parse(name).Flags, _keywords);
                var errno = Libc.LinkAt(fromDir, name, toDir, copy);
                if (errno == Libc.ENoEnt && Renamed(e.Uid) is { } now)
                    errno = Libc.LinkAt(fromDir, name = now, toDir, copy); // flags changed by another session meanwhile
                if (errno is Libc.EPerm or Libc.ENotSup or Libc.EMLink)
                    errno = CopyBytes(Path.Combine(Cur, name), target._path, copy); // a file system without hard links
                if (errno == Libc.ENoEnt)
                    continue; // expunged meanwhile
                if (errno != 0)
                    throw new IOException($"cannot copy {name} to {folder}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
                made.Add((e.Uid, copy));
                bytes += e.Size;
            }
            Libc.Fsync(toDir); // the copies are durable before they get UIDs
        }
        catch
        {
            foreach (var (_, copy) in made)
                File.Delete(Path.Combine(target.Cur, copy)); // RFC 9051 §6.4.7: a failed COPY leaves the target as it was
            throw;
        }
        MaildirQuota.Add(_maildir, bytes, made.Count);
        return target.Arrived(made);
    }

    public async Task<TransferResult> MoveAsync(IReadOnlyCollection<uint> uids, string folder, CancellationToken ct = default)
    {
        var sources = uids.Where(_files.ContainsKey).Distinct().Order().ToList();
        using var target = (MaildirMailbox)await _store.OpenAsync(Owner, folder, ct);
        if (target._path == _path)
        {
            // Into the folder it is in (RFC 6851 allows it): new UIDs, as a copy and an expunge.
            var copied = await CopyAsync(sources, folder, ct);
            Expunge(copied.Uids.Select(p => p.Source));
            return copied;
        }
        if (sources.Count == 0)
            return new TransferResult(target.UidValidity, []);
        var entries = sources.Select(u => Find(u)!).ToList();
        target.NameKeywordsOf(entries);
        var moved = new List<(uint Source, string Name)>();
        using (Guard.Take(GuardPath))
        {
            CatchUpUnderGuard();
            var current = _log.Highest == HighestModSeq;
            var names = CurrentNames(sources);
            using var fromDir = Libc.Open(Cur, Libc.ORdOnly | Libc.ODirectory);
            using var toDir = Libc.Open(target.Cur, Libc.ORdOnly | Libc.ODirectory);
            foreach (var e in entries)
            {
                if (!names.TryGetValue(e.Uid, out var name))
                    continue;
                var parsed = MaildirName.Parse(name);
                var letters = target.Translate(parsed.Flags, _keywords);
                // The same name when it is free (a message moved back keeps its POP3 UIDL), else a new one.
                var to = parsed.Key + ":2," + letters;
                var errno = Libc.RenameNoReplace(fromDir, name, toDir, to);
                if (errno == Libc.EExist)
                {
                    to = MaildirName.Delivered(_store.NewBase(e.InternalDate, 'C'), MaildirName.HostPart(_store.Hostname), e.Size, VirtualSizeOf(e)) + ":2," + letters;
                    errno = Libc.RenameNoReplace(fromDir, name, toDir, to);
                }
                if (errno is Libc.EInval or Libc.ENoSys)
                    errno = LinkThenUnlink(fromDir, name, toDir, to); // a file system without RENAME_NOREPLACE
                if (errno == Libc.ENoEnt)
                    continue;
                if (errno != 0)
                    throw new IOException($"cannot move {name} to {folder}: {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)}");
                moved.Add((e.Uid, to));
            }
            if (moved.Count > 0)
            {
                // Target first: once the source's entry is durably gone, the target's must be there.
                Libc.Fsync(toDir);
                Libc.Fsync(fromDir);
                _log.Append([.. ModSeqLog.ExpungeLines(_log.Highest + 1, moved.Select(m => m.Source))]);
                NoteModSeq();
                if (current)
                    HighestModSeq = _log.Highest;
            }
        }
        Forget([.. moved.Select(m => m.Source)]);
        if (moved.Count > 0)
            _store.Publish(Owner, Folder, MailboxChangeKind.Expunged);
        return target.Arrived(moved);
    }

    /// <summary>The file's name now, when another session renamed it (its flags) since this one looked.</summary>
    private string? Renamed(uint uid)
    {
        using (Guard.Take(GuardPath))
        {
            CatchUpUnderGuard();
            return CurrentNames([uid]).GetValueOrDefault(uid);
        }
    }

    /// <summary>Gives the keywords of these entries letters here, before their files arrive with them.</summary>
    private void NameKeywordsOf(IEnumerable<MailboxEntry> entries)
    {
        var keywords = entries.SelectMany(e => e.Keywords).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (keywords.Count == 0)
            return;
        using (Guard.Take(GuardPath))
            NameKeywords(keywords);
    }

    /// <summary>Flag letters of another folder's file, for this folder: keyword letters through both keywords files, the rest as they are.</summary>
    private string Translate(string letters, Keywords from)
    {
        var result = new List<char>();
        foreach (var c in letters)
        {
            if (c is < 'a' or > 'z')
                result.Add(c);
            else if (from.NameOf(c) is { } keyword && _keywords.LetterOf(keyword) is { } mine)
                result.Add(mine);
        }
        return MaildirName.Parse("x").WithFlags(new string([.. result]))[4..];
    }

    /// <summary>Gives files that came in (a COPY or MOVE) their UIDs in the order given, and publishes them.</summary>
    private TransferResult Arrived(List<(uint Source, string Name)> files)
    {
        if (files.Count == 0)
            return new TransferResult(UidValidity, []);
        var keys = files.Select(f => MaildirName.Parse(f.Name).Key).ToList();
        UidList list;
        using (Guard.Take(GuardPath))
            (_, list, _, _) = RecordUnderGuard(keys);
        _store.Publish(Owner, Folder, MailboxChangeKind.Added);
        return new TransferResult(list.UidValidity,
            [.. files.Zip(keys).Where(p => list.Entries.ContainsKey(p.Second)).Select(p => (p.First.Source, list.Entries[p.Second].Uid))]);
    }

    /// <summary>A copy by bytes into FOLDER/tmp, fsynced, then linked into cur/; an errno as LinkAt gives.</summary>
    private static int CopyBytes(string from, string folder, string name)
    {
        var tmp = Path.Combine(folder, "tmp", name);
        if (!Directory.Exists(Path.Combine(folder, "tmp")))
            Directory.CreateDirectory(Path.Combine(folder, "tmp"), MaildirStore.Private); // removed by hand: opening INBOX no longer remakes it
        try
        {
            using (var source = new FileStream(from, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
            using (var copy = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                source.CopyTo(copy);
                copy.Flush(flushToDisk: true);
            }
            File.Move(tmp, Path.Combine(folder, "cur", name));
            return 0;
        }
        catch (FileNotFoundException)
        {
            return Libc.ENoEnt;
        }
    }

    /// <summary>MOVE where renameat2 cannot refuse to replace: link (which refuses), then unlink.</summary>
    private static int LinkThenUnlink(Microsoft.Win32.SafeHandles.SafeFileHandle fromDir, string name, Microsoft.Win32.SafeHandles.SafeFileHandle toDir, string to)
    {
        var errno = Libc.LinkAt(fromDir, name, toDir, to);
        if (errno == 0)
            Libc.UnlinkAt(fromDir, name);
        return errno;
    }
}
