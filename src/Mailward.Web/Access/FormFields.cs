// The fields each page form has, as data: a form post carrying any other field, or any query
// parameter, is refused whole (400, nothing changed), as the API refuses an unknown body member.
// Mass assignment (issue 13): a domain admin adding systemAdmin, limits or another domain's id as a
// hidden field or in the query is told no. A route whose entry is null (not a form) is exempt.
namespace Mailward.Web.Access;

internal static class FormFields
{
    /// <summary>The anti-forgery field every signed-in form carries (Hosting.WebRequest.CsrfField).</summary>
    private const string Csrf = "_csrf";

    /// <summary>POST route → the names its form may send besides the anti-forgery token; null: the body is not a form.</summary>
    private static readonly Dictionary<string, string[]?> Forms = new(StringComparer.Ordinal)
    {
        ["/login"] = ["_login", "login", "password"],
        ["/login/totp"] = ["_pending", "code"],
        ["/logout"] = [],
        ["/domains"] = ["name", "password"],
        ["/domains/{domain}/users"] = ["local", "password", "quota", "comment"],
        ["/domains/{domain}/users/{local}/delete"] = ["confirm"],
        ["/domains/{domain}/users/{local}/quota"] = ["quota"],
        ["/domains/{domain}/users/{local}/password"] = ["password"],
        // One box a flag, by the command line's names (the system's flags too: AdminAuthorizer refuses them to others).
        ["/domains/{domain}/users/{local}/flags"] = [.. Core.Accounts.UserFlagNames.ByName.Keys],
        ["/domains/{domain}/users/{local}/forward"] = ["targets", "keep"],
        ["/domains/{domain}/users/{local}/vacation"] = ["subject", "text", "start", "end", "interval"],
        ["/domains/{domain}/users/{local}/vacation/delete"] = [],
        ["/domains/{domain}/catchall"] = ["kind", "target"],
        ["/domains/{domain}/limits"] = ["max-users", "max-aliases", "max-forwards", "max-autoresponders", "max-lists", "quota", "default-quota"],
        ["/domains/{domain}/aliasdomains"] = ["alias"],
        ["/domains/{domain}/aliasdomains/{alias}/delete"] = [],
        ["/domains/{domain}/aliases"] = ["local", "target"],
        ["/domains/{domain}/aliases/{local}/delete"] = ["confirm"],
        ["/domains/{domain}/lists"] = ["local", "name", "policy"],
        ["/domains/{domain}/lists/{list}"] = ["name", "policy", "prefix", "reply-to", "from-rewrite", "max-bytes", "owner", "trailer", "confirm-unsubscribe"],
        ["/domains/{domain}/lists/{list}/delete"] = ["confirm"],
        ["/domains/{domain}/lists/{list}/{set}"] = ["addresses"],
        ["/domains/{domain}/lists/{list}/{set}/delete"] = ["address"],
        ["/account/password"] = ["old", "new", "again"],
        ["/account/totp"] = [],
        ["/account/totp/confirm"] = ["code"],
        ["/account/totp/delete"] = ["code"],
        ["/account/forward"] = ["targets", "keep"],
        ["/account/vacation"] = ["subject", "text", "start", "end"],
        ["/account/vacation/delete"] = [],
        ["/relay"] = ["network", "action", "comment"],
        ["/relay/delete"] = ["network"],
        ["/ipmaps"] = ["address", "domain"],
        ["/ipmaps/delete"] = ["address", "domain"],
        ["/keys"] = ["name", "domains", "read-only", "days"],
        ["/keys/{name}/revoke"] = [],
        ["/queue/flush"] = [],
        ["/queue/{id}/delete"] = ["confirm"],
        // RFC 8058 one-click unsubscribe: posted by a mail provider, not by a signed-in form; its
        // handler checks the one field it takes (List-Unsubscribe=One-Click) and the link's token.
        ["/lists/unsubscribe"] = null,
        // Microsoft Autodiscover (POX): an XML request body, not a form.
        [Autoconfig.AutoconfigEndpoints.AutodiscoverPath] = null,
    };

    /// <summary>
    /// The fields of a page's POST route (null: not a form). A POST page route missing here is a
    /// startup error, so a new form cannot skip the check.
    /// </summary>
    public static IReadOnlySet<string>? For(string route) =>
        Forms.TryGetValue(route, out var fields)
            ? fields is null ? null : new HashSet<string>([Csrf, .. fields], StringComparer.Ordinal)
            : throw new InvalidOperationException($"POST {route}: a page form without its field list in FormFields");

    /// <summary>The first field of the posted form that its form does not have, or null.</summary>
    public static string? Unknown(IReadOnlySet<string> allowed, Microsoft.AspNetCore.Http.IFormCollection form) =>
        form.Files.Count > 0 ? form.Files[0].Name : form.Keys.FirstOrDefault(k => !allowed.Contains(k));
}
