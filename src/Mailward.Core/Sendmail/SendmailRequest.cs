// One message handed to `mailward sendmail`: who ran it, what the command line asked for and the
// bytes read from standard input. The submission record (docs/pickup-format.md) carries exactly
// this, over the control socket or in a pickup file.
using System.Security.Cryptography;

namespace Mailward.Core.Sendmail;

[Flags]
public enum SendmailFlags : byte
{
    None = 0,
    RecipientsFromHeader = 1, // -t
    IgnoreDots = 2,           // -i, -oi
    SenderGiven = 4,          // -f / -r
}

public sealed record SendmailRequest(
    string Id,
    DateTimeOffset Created,
    uint Uid,
    string Login,
    SendmailFlags Flags,
    string Sender,
    string FullName,
    IReadOnlyList<string> Recipients,
    byte[] Body)
{
    public const int MaxRecipients = 10_000;

    public bool RecipientsFromHeader => Flags.HasFlag(SendmailFlags.RecipientsFromHeader);
    public bool SenderGiven => Flags.HasFlag(SendmailFlags.SenderGiven);

    /// <summary>26 characters of Crockford base32: 48 bits of milliseconds, then 80 random bits; sorts by time.</summary>
    public static string NewId(DateTimeOffset now)
    {
        Span<byte> bits = stackalloc byte[16];
        var ms = (ulong)now.ToUnixTimeMilliseconds();
        for (var i = 0; i < 6; i++)
            bits[i] = (byte)(ms >> (40 - (8 * i)));
        RandomNumberGenerator.Fill(bits[6..]);
        const string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        var chars = new char[26];
        var value = new System.Numerics.BigInteger(bits, isUnsigned: true, isBigEndian: true);
        for (var i = 25; i >= 0; i--)
        {
            chars[i] = alphabet[(int)(value & 31)];
            value >>= 5;
        }
        return new string(chars);
    }

    /// <summary>A name that can be a file name in pickup/: the id's own alphabet only.</summary>
    public static bool IsValidId(string id) =>
        id.Length == 26 && id.All(c => c is (>= '0' and <= '9') or (>= 'A' and <= 'Z') && c is not ('I' or 'L' or 'O' or 'U'));
}
