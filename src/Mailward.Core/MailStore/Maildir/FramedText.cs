// The frame the mail store's own text files share (docs/mail-store.md: the UID list, keywords):
// a body of lines, then "END <crc>" with the CRC-32 of the body, written tmp → fsync → rename →
// fsync the folder. One reader and one writer of that frame for every such file.
using System.Buffers;
using System.Globalization;
using System.IO.Hashing;
using System.Text;
using Mailward.Core.Posix;

namespace Mailward.Core.MailStore.Maildir;

internal static class FramedText
{
    /// <summary>The body with its end line appended.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> body)
    {
        var framed = new ArrayBufferWriter<byte>(body.Length + 13);
        framed.Write(body);
        AppendEnd(framed);
        return framed.WrittenSpan.ToArray();
    }

    /// <summary>Appends the end line for what the buffer holds (its body).</summary>
    public static void AppendEnd(ArrayBufferWriter<byte> body)
    {
        var crc = Crc32.HashToUInt32(body.WrittenSpan);
        body.Advance(Encoding.ASCII.GetBytes($"END {crc:x8}\n", body.GetSpan(13)));
    }

    /// <summary>The length of the body when the end line is there, well formed and its CRC matches; -1 otherwise.</summary>
    public static int BodyLength(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == 0 || bytes[^1] != (byte)'\n')
            return -1;
        var endAt = bytes[..^1].LastIndexOf("\nEND "u8);
        if (endAt < 0)
            return -1;
        var body = bytes[..(endAt + 1)];
        var crcText = Encoding.ASCII.GetString(bytes[(endAt + 5)..^1]);
        return crcText.Length == 8 && uint.TryParse(crcText, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var crc)
            && Crc32.HashToUInt32(body) == crc ? body.Length : -1;
    }

    /// <summary>Replaces FOLDER/NAME whole: NAME.tmp, fsync, rename, fsync the folder. The caller holds the folder's guard.</summary>
    public static void Write(string folder, string name, ReadOnlySpan<byte> framed)
    {
        var tmp = Path.Combine(folder, name + ".tmp");
        using (var f = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            f.Write(framed);
            f.Flush(flushToDisk: true);
        }
        File.Move(tmp, Path.Combine(folder, name), overwrite: true);
        using var dir = Libc.Open(folder, Libc.ORdOnly | Libc.ODirectory);
        Libc.Fsync(dir);
    }
}
