// The frame of a list's own files (docs/lists.md, "The files"): a first line naming the file and
// its version, a body of lines, END with the CRC-32 (the mail store's FramedText), replaced whole
// with tmp, fsync, rename, fsync the folder. A file that does not check is damaged: never guessed at.
using System.Text;
using Mailward.Core.MailStore.Maildir;

namespace Mailward.Core.Lists;

/// <summary>A list file that fails its frame or its content rules.</summary>
public sealed class ListDamagedException(string path, string problem) : Exception($"{path}: damaged list file: {problem}")
{
    public string FilePath { get; } = path;
}

internal static class ListFile
{
    /// <summary>The body after the first line, as text; null when the file is absent (or its folder, e.g. bounce/ before the first bounce).</summary>
    public static string? Read(string path, string magic)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        var length = FramedText.BodyLength(bytes);
        if (length < 0)
            throw new ListDamagedException(path, "no END line or a wrong checksum");
        var text = Encoding.UTF8.GetString(bytes, 0, length);
        var first = text.IndexOf('\n');
        if (first < 0 || text[..first] != magic)
            throw new ListDamagedException(path, $"the first line is not \"{magic}\"");
        return text[(first + 1)..];
    }

    /// <summary>The body's lines (no trailing empty line).</summary>
    public static IReadOnlyList<string>? ReadLines(string path, string magic) =>
        Read(path, magic) is { } body ? body.Split('\n', StringSplitOptions.None)[..^1] : null;

    public static void Write(string path, string magic, string body)
    {
        if (body.Length > 0 && !body.EndsWith('\n'))
            body += "\n";
        Write(path, Encoding.UTF8.GetBytes(magic + "\n" + body));
    }

    public static void Write(string path, byte[] content) =>
        FramedText.Write(Path.GetDirectoryName(path)!, Path.GetFileName(path), FramedText.Frame(content));

    /// <summary>Raw frame check for files with a binary tail (the archive): the content before END, or null when absent.</summary>
    public static byte[]? ReadRaw(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        var length = FramedText.BodyLength(bytes);
        return length < 0 ? throw new ListDamagedException(path, "no END line or a wrong checksum") : bytes[..length];
    }
}
