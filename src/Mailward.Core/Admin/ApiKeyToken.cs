// The form of an API key as its holder sends it (Authorization: Bearer mwk_ID_SECRET): a public id
// the store finds the key by, and a 256-bit secret of which the store keeps only a SHA-256 hash.
// A slow password hash is not needed: the secret is random, not chosen by a person, so there is no
// dictionary to try; the hash keeps a copy of the store from being a copy of the keys.
using System.Security.Cryptography;
using System.Text;

namespace Mailward.Core.Admin;

public static class ApiKeyToken
{
    public const string Prefix = "mwk_";

    /// <summary>A new id (64 random bits, hex) and secret (256 random bits, base64url), and the token made of them.</summary>
    public static (string Id, string Secret, string Token) New()
    {
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return (id, secret, $"{Prefix}{id}_{secret}");
    }

    public static string Hash(string secret) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(secret)));

    /// <summary>The id and secret of a token, or null when it is not of this form.</summary>
    public static (string Id, string Secret)? Parse(string token)
    {
        if (!token.StartsWith(Prefix, StringComparison.Ordinal) || token.Length != Prefix.Length + 16 + 1 + 43 || token[Prefix.Length + 16] != '_')
            return null;
        var id = token.Substring(Prefix.Length, 16);
        return id.All(char.IsAsciiHexDigitLower) ? (id, token[(Prefix.Length + 17)..]) : null;
    }

    /// <summary>Whether <paramref name="secret"/> is the one hashed, compared in constant time.</summary>
    public static bool Matches(string secret, string hash) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(Hash(secret)), Encoding.ASCII.GetBytes(hash));
}
