// Random passwords for vadduser/vadddomain/vpasswd -r[len]: vpopmail's default length of 8, drawn
// from an alphabet without look-alike characters so they survive being read over the phone.
using System.Security.Cryptography;

namespace Mailward.Core.Passwords;

public static class RandomPassword
{
    public const int DefaultLength = 8;
    public const int MaxLength = 128;
    private const string Alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

    public static string Generate(int length = DefaultLength)
    {
        if (length is < 1 or > MaxLength)
            throw new Accounts.AccountException(Accounts.AccountError.InvalidArgument, $"random password length must be 1..{MaxLength}");
        return RandomNumberGenerator.GetString(Alphabet, length);
    }
}
