// Login names of local uids, from /etc/passwd (the name sendmail's callers are known by); a uid
// with no entry is known by its number.
namespace Mailward.Core.Sendmail;

public static class LocalUsers
{
    public static string NameOf(uint uid)
    {
        try
        {
            foreach (var line in File.ReadLines("/etc/passwd"))
            {
                var f = line.Split(':');
                if (f.Length > 2 && uint.TryParse(f[2], out var u) && u == uid && f[0].Length > 0)
                    return f[0];
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return uid.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
