// The first sync of a folder that has no mailward-uidlist but another server's files (docs/mail-store.md
// "Takeover from Courier-IMAP and Dovecot"): UIDVALIDITY, UIDs and NEXTUID, POP3 UIDLs and keywords
// are carried over so no client resyncs or downloads again. Runs under the UID list's guard; the
// caller writes the list it returns, which is the commit point. Foreign files are only read.
namespace Mailward.Core.MailStore.Maildir.Takeover;

internal static class FolderTakeover
{
    /// <summary>Written after the first imported list: a later missing list is not a takeover again (that could reuse UIDs).</summary>
    public const string MarkerName = "mailward-takeover";

    /// <summary>
    /// The list to start from, with the POP3 UIDLs other servers gave the files in cur/ and, at the
    /// first takeover (<paramref name="firstTime"/>: no list of ours, no marker), their UIDVALIDITY,
    /// UIDs and NEXTUID (the caller numbers the rest, writes it, then calls MarkDone when UidsKept);
    /// null when there is nothing to take over. Keywords are written to mailward-keywords and into
    /// the names before it returns, so the caller lists cur/ again.
    /// </summary>
    public static (UidList List, bool UidsKept)? Import(string folder, bool inbox, bool firstTime, Func<uint> newValidity, Func<List<MaildirName>> listCur)
    {
        var foreign = ForeignUidList.Read(folder);
        // Courier's POP3 list counts when Courier ran last, or when IMAP never ran (a POP3-only user).
        var courierPop3 = inbox && foreign is not { FromDovecot: true } ? CourierPop3SizeList.Read(folder) : [];
        if (foreign is null && courierPop3.Count == 0)
            return null;
        var keepUids = foreign is not null && firstTime && ImportedValidity(folder) is null;
        if (keepUids)
            ImportKeywords(folder, foreign!, listCur());
        var list = keepUids ? new UidList(foreign!.UidValidity, foreign.UidNext) : new UidList(newValidity(), 1);
        foreach (var file in listCur())
        {
            // UIDs ascend line by line in the foreign list, so no two keys share one.
            if (keepUids && foreign!.Messages.TryGetValue(file.Key, out var m) && !list.Entries.ContainsKey(file.Key))
            {
                list.Entries[file.Key] = (m.Uid, file.VirtualSize is null ? m.VirtualSize : null); // else counted when first asked for
            }
            var uidl = foreign?.Messages.GetValueOrDefault(file.Key)?.Pop3Uidl ?? courierPop3.GetValueOrDefault(file.Key);
            if (uidl is not null && uidl != file.Pop3Uidl)
                list.Pop3Uidls[file.Key] = uidl;
        }
        return (list, keepUids);
    }

    /// <summary>The UIDVALIDITY the first import kept, when the marker says there was one.</summary>
    public static uint? ImportedValidity(string folder)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(Path.Combine(folder, MarkerName));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        var length = FramedText.BodyLength(bytes);
        var fields = length < 0 ? [] : System.Text.Encoding.ASCII.GetString(bytes, 0, length).TrimEnd('\n').Split(' ');
        // A marker that does not parse still says a takeover happened: never import UIDs again.
        return fields.Length == 3 && fields[0] == "MWTAKEOVER" && fields[1] == "1" && fields[2].StartsWith('V')
            && uint.TryParse(fields[2].AsSpan(1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 1;
    }

    /// <summary>Step 4: the marker (tmp, fsync, rename, fsync the folder), after the list is in place.</summary>
    public static void MarkDone(string folder, uint uidValidity) =>
        FramedText.Write(folder, MarkerName, FramedText.Frame(System.Text.Encoding.ASCII.GetBytes($"MWTAKEOVER 1 V{uidValidity}\n")));

    /// <summary>
    /// Gives each foreign keyword a letter in mailward-keywords (Dovecot's own letter when free) and
    /// renames the files whose letters differ. The keywords file is written before any name uses its letters.
    /// </summary>
    private static void ImportKeywords(string folder, ForeignUidList foreign, List<MaildirName> files)
    {
        var keywords = Keywords.Read(folder); // a crashed import may have written it: letters given stay
        var wanted = new Dictionary<string, string>(StringComparer.Ordinal); // file name → letters it should carry
        var added = false; // a keyword got a letter it did not have: the file must be written
        if (foreign.FromDovecot)
        {
            var dovecot = ForeignKeywords.ReadDovecot(folder);
            var map = new char?[26];
            for (var i = 0; i < 26; i++)
                if (dovecot[i] is { } name)
                {
                    added |= keywords.LetterOf(name) is null;
                    map[i] = keywords.Add(name, (char)('a' + i));
                }
            foreach (var f in files.Where(f => f.Flags.Any(char.IsAsciiLetterLower)))
                wanted[f.Name] = Letters(f, f.Flags.Where(char.IsAsciiLetterLower).Select(c => map[c - 'a']));
        }
        else
        {
            var courier = ForeignKeywords.ReadCourier(folder);
            var present = files.Where(f => courier.ContainsKey(f.Key) || f.Flags.Any(char.IsAsciiLetterLower)).ToList();
            // Letters in order of the names, so a redone import gives the same ones.
            foreach (var name in present.SelectMany(f => courier.GetValueOrDefault(f.Key) ?? []).Where(ForeignKeywords.IsKeyword).Distinct().Order(StringComparer.Ordinal))
            {
                added |= keywords.LetterOf(name) is null;
                keywords.Add(name);
            }
            foreach (var f in present)
                wanted[f.Name] = Letters(f, (courier.GetValueOrDefault(f.Key) ?? []).Select(k => ForeignKeywords.IsKeyword(k) ? keywords.LetterOf(k) : null));
        }
        var renames = wanted.Select(w => (From: w.Key, To: MaildirName.Parse(w.Key).WithFlags(w.Value))).Where(r => r.From != r.To).ToList();
        if (added)
            keywords.Write(folder);
        foreach (var (from, to) in renames)
        {
            try
            {
                File.Move(Path.Combine(folder, "cur", from), Path.Combine(folder, "cur", to));
            }
            catch (FileNotFoundException)
            {
                // renamed or expunged by another server meanwhile; its flags stay as that server left them
            }
        }
    }

    /// <summary>The file's standard flags (upper case) and these keyword letters; a keyword with no letter is left out.</summary>
    private static string Letters(MaildirName file, IEnumerable<char?> keywordLetters) =>
        new([.. file.Flags.Where(c => !char.IsAsciiLetterLower(c)), .. keywordLetters.OfType<char>()]);
}
