// The mailing lists' settings (Lists:*, docs/lists.md): on or off, how long a confirmation holds,
// the default post size limit, how long a change waits for the list's lock, the most members a set holds,
// how long a held post's accept and reject addresses hold, the most posts one -get or -index answer covers,
// the days of bounces before a warning and from the warning to the probe, when a digest is due,
// how often the digest timer and the bounce timer look, and the https address of the one-click unsubscribe (RFC 8058;
// empty: the mailto: link only).
using Mailward.Core.Configuration;
using Mailward.Core.MailStore;
using Mailward.Core.Routing;

namespace Mailward.Core.Lists;

public sealed record ListOptions(bool Enabled = true, int ConfirmHours = 278, long MaxPostBytes = 10 << 20, int LockSeconds = 30, int MaxMembers = 100_000,
    int ModerationHours = 120, int MaxGetPosts = 100, int BounceDays = 10, int DigestPosts = 30, long DigestBytes = 65536, int DigestHours = 48,
    string UnsubscribeBaseUrl = "", int DigestCheckMinutes = 60, int BounceCheckMinutes = 60)
{
    /// <summary>Longest Lists:UnsubscribeBaseUrl: the URL with a list, a subscriber and the token still fits a header line (RFC 5322 §2.1.1).</summary>
    public const int MaxBaseUrlLength = 200;

    public static ListOptions Default { get; } = new();

    public TimeSpan ConfirmValid => TimeSpan.FromHours(ConfirmHours);
    public TimeSpan LockWait => TimeSpan.FromSeconds(LockSeconds);
    public TimeSpan ModerationValid => TimeSpan.FromHours(ModerationHours);
    public TimeSpan BounceWait => TimeSpan.FromDays(BounceDays);
    public TimeSpan DigestWait => TimeSpan.FromHours(DigestHours);
    public TimeSpan DigestCheck => TimeSpan.FromMinutes(DigestCheckMinutes);
    public TimeSpan BounceCheck => TimeSpan.FromMinutes(BounceCheckMinutes);

    public static ListOptions From(MailwardSettings s) => new(
        s.GetBool("Lists:Enabled"),
        s.GetInt("Lists:ConfirmHours", 1, 24 * 365),
        s.GetInt("Lists:MaxPostBytes", 1024, int.MaxValue),
        s.GetInt("Lists:LockSeconds", 1, 3600),
        s.GetInt("Lists:MaxMembers", 1, 10_000_000),
        s.GetInt("Lists:ModerationHours", 1, 24 * 365),
        s.GetInt("Lists:MaxGetPosts", 1, 10_000),
        s.GetInt("Lists:BounceDays", 1, 365),
        s.GetInt("Lists:DigestPosts", 1, 1000),
        s.GetInt("Lists:DigestBytes", 1024, 64 << 20),
        s.GetInt("Lists:DigestHours", 1, 24 * 365),
        CheckBaseUrl(s.Get("Lists:UnsubscribeBaseUrl")),
        s.GetInt("Lists:DigestCheckMinutes", 0, 24 * 60),
        s.GetInt("Lists:BounceCheckMinutes", 0, 24 * 60));

    /// <summary>Empty, or an absolute https: URL without query or fragment (RFC 8058 §3.1 wants HTTPS); its trailing slash dropped.</summary>
    public static string CheckBaseUrl(string text)
    {
        if (text.Length == 0)
            return "";
        if (text.Length > MaxBaseUrlLength || !Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps
            || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0 || text.Any(c => c <= ' ' || c >= 0x7f))
            throw new SettingsException($"setting Lists:UnsubscribeBaseUrl must be empty or an https:// URL of at most {MaxBaseUrlLength} characters without a query, not '{text}'");
        return text.TrimEnd('/');
    }
}

/// <summary>Answers RecipientResolver's question from the list folders in the mail store.</summary>
public sealed class ListDirectory(MailStoreLayout layout) : IListLookup
{
    public ListFolder Folder(Accounts.DomainRecord domain, string name) => new(layout.Resolve(domain.Directory), name, domain.Name);

    public bool IsList(Accounts.DomainRecord domain, string name) => ListFolder.CheckName(name) is null && Folder(domain, name).Exists;

    /// <summary>The domain's lists (folders with a config), in name order; none when it has no .lists folder.</summary>
    public IEnumerable<ListFolder> Lists(Accounts.DomainRecord domain)
    {
        var dir = ListFolder.ListsOf(layout.Resolve(domain.Directory));
        if (!Directory.Exists(dir))
            return [];
        return Directory.EnumerateDirectories(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)
            .Where(n => ListFolder.CheckName(n) is null).Select(n => Folder(domain, n)).Where(f => f.Exists).ToList();
    }
}
