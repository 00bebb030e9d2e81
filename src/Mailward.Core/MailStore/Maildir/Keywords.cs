// IMAP keywords of one Maildir folder (docs/mail-store.md "Keywords"): the letters a–z after the
// standard flags in a name, named in mailward-keywords. Framed and rewritten like the UID list;
// it only grows, so a letter once given keeps its keyword.
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore.Maildir;

public sealed class Keywords
{
    public const string FileName = "mailward-keywords";
    // Made at the first keyword: most folders have none, and every open folder (an IDLE session's too) has this object.
    private string?[]? _byLetter;

    public string? NameOf(char letter) => letter is >= 'a' and <= 'z' ? _byLetter?[letter - 'a'] : null;

    /// <summary>The letter of a keyword (case-insensitive, RFC 9051 §2.3.2); null when it has none yet.</summary>
    public char? LetterOf(string keyword)
    {
        if (_byLetter is null)
            return null;
        for (var i = 0; i < 26; i++)
            if (string.Equals(_byLetter[i], keyword, StringComparison.OrdinalIgnoreCase))
                return (char)('a' + i);
        return null;
    }

    /// <summary>Gives the keyword the next free letter; null when all 26 are taken.</summary>
    public char? Add(string keyword)
    {
        if (LetterOf(keyword) is { } l)
            return l;
        _byLetter ??= new string?[26];
        var free = Array.IndexOf(_byLetter, null);
        if (free < 0)
            return null;
        _byLetter[free] = keyword;
        return (char)('a' + free);
    }

    /// <summary>As Add, but the preferred letter when it is free (a takeover keeps Dovecot's letters).</summary>
    public char? Add(string keyword, char preferred)
    {
        if (LetterOf(keyword) is null && preferred is >= 'a' and <= 'z' && NameOf(preferred) is null)
            (_byLetter ??= new string?[26])[preferred - 'a'] = keyword;
        return Add(keyword);
    }

    public static Keywords Read(string folder)
    {
        var k = new Keywords();
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(Path.Combine(folder, FileName));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return k;
        }
        var bodyLength = FramedText.BodyLength(bytes);
        if (bodyLength < 0)
            return SetAside(folder);
        var lines = Encoding.UTF8.GetString(bytes, 0, bodyLength).Split('\n');
        if (lines[0] != $"MWKEYWORDS 1 C{lines.Length - 2}")
            return SetAside(folder);
        for (var i = 1; i < lines.Length - 1; i++)
        {
            if (lines[i].Length < 3 || lines[i][0] is < 'a' or > 'z' || lines[i][1] != ' ')
                return SetAside(folder);
            (k._byLetter ??= new string?[26])[lines[i][0] - 'a'] = lines[i][2..];
        }
        return k;
    }

    private static Keywords SetAside(string folder)
    {
        File.Move(Path.Combine(folder, FileName), Path.Combine(folder, FileName + ".garbled"), overwrite: true);
        return new Keywords();
    }

    /// <summary>tmp, fsync, rename, fsync the folder; the caller holds the UID list's guard.</summary>
    public void Write(string folder)
    {
        var sb = new StringBuilder();
        var named = Enumerable.Range(0, 26).Where(i => _byLetter?[i] is not null).ToList();
        sb.Append(CultureInfo.InvariantCulture, $"MWKEYWORDS 1 C{named.Count}\n");
        foreach (var i in named)
            sb.Append((char)('a' + i)).Append(' ').Append(_byLetter![i]).Append('\n');
        FramedText.Write(folder, FileName, FramedText.Frame(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}
