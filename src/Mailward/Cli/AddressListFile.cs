// A file of addresses, one a line (vpopbull's and vdeloldusers' exclude files): blank lines and
// lines starting with '#' are skipped; every other line must be user@domain, or the command stops
// before it changes anything (a typo must not let a bulletin reach someone meant to be left out).
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;

namespace Mailward.Cli;

internal static class AddressListFile
{
    public static IReadOnlyList<string> Read(string? path)
    {
        if (path is null)
            return [];
        string[] lines;
        try
        {
            lines = File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AccountException(AccountError.InvalidArgument, $"cannot read the exclude file {path}: {e.Message}");
        }
        var addresses = new List<string>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
                continue;
            if (!MailAddress.TryParse(line, out var a, out var error))
                throw new AccountException(AccountError.InvalidArgument, $"{path} line {i + 1}: {error}");
            addresses.Add(a.ToString());
        }
        return addresses;
    }
}
