// One-click unsubscribe (RFC 8058; docs/lists.md, "One-click unsubscribe"): the token of one list
// and one subscriber, the List-Unsubscribe and List-Unsubscribe-Post fields each subscriber's copy
// (or digest) gets at delivery (the copies share one queue message), and the unsubscription the admin
// listener's /lists/unsubscribe makes when a token holds.
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Mailward.Core.Accounts;
using Mailward.Core.Delivery;
using Mailward.Core.Queue;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Core.Lists;

/// <summary>A list and one of its (possible) subscribers, or digest subscribers (<paramref name="Digest"/>), named by a token that holds.</summary>
public sealed record OneClickTarget(ListFolder List, string Address, bool Digest = false)
{
    public MemberSet Set => Digest ? MemberSet.Digest : MemberSet.Subscribers;
}

public sealed partial class ListOneClick(ListDirectory lists, IAccountDirectory directory, ListOptions options, ILogger? logger = null) : IRecipientFields
{
    /// <summary>The admin listener's path of the endpoint (src/Mailward.Web).</summary>
    public const string EndpointPath = "/lists/unsubscribe";

    /// <summary>The one body RFC 8058 §3.2 has a mail client POST.</summary>
    public const string PostKey = "List-Unsubscribe";
    public const string PostValue = "One-Click";

    /// <summary>Hex digits of a token: 16 bytes of HMAC-SHA256, 128 bits nobody guesses (a token does not expire, so longer than a cookie's 80).</summary>
    public const int TokenLength = 32;

    /// <summary>The protocol of the queue messages a list makes (its copies among them).</summary>
    public const string QueueProtocol = "list";

    private readonly ILogger _log = logger ?? NullLogger.Instance;

    /// <summary>The query parameter (value 1) of a digest's one-click URL: the digest set is left, not the subscribers.</summary>
    public const string DigestKey = "digest";

    /// <summary>
    /// HMAC-SHA256 with the list's secret over "one-click" (a digest's: "digest-one-click"), the
    /// list's address and the subscriber's, lower case, NUL between: another list (another secret,
    /// another address), another subscriber or the other set gets another token, and no sc./uc.
    /// cookie (other inputs) is one.
    /// </summary>
    public static string Token(byte[] secret, string list, string subscriber, bool digest = false)
    {
        var mac = HMACSHA256.HashData(secret, Encoding.UTF8.GetBytes($"{(digest ? "digest-" : "")}one-click\0{list.ToLowerInvariant()}\0{subscriber.ToLowerInvariant()}"));
        return Convert.ToHexStringLower(mac.AsSpan(0, TokenLength / 2));
    }

    /// <summary>Whether <paramref name="token"/> is this list's for this subscriber and set (compared in constant time).</summary>
    public static bool Holds(byte[] secret, string list, string subscriber, string token, bool digest = false) =>
        token.Length == TokenLength && CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(token.ToLowerInvariant()),
            Encoding.ASCII.GetBytes(Token(secret, list, subscriber, digest)));

    /// <summary>The one-click URL: BASE/lists/unsubscribe?list=...&amp;address=...&amp;token=... (and &amp;digest=1 for a digest's).</summary>
    public static string Url(string baseUrl, string list, string subscriber, string token, bool digest = false) =>
        $"{baseUrl}{EndpointPath}?list={Uri.EscapeDataString(list)}&address={Uri.EscapeDataString(subscriber)}&token={token}{(digest ? $"&{DigestKey}=1" : "")}";

    /// <summary>
    /// The fields of one copy: List-Unsubscribe with the mailto: address (RFC 2369 §3.2) and, with a
    /// URL, the https: one on a folded line and List-Unsubscribe-Post (RFC 8058 §3.1: only together
    /// with an https: URL). A URL whose line would pass 998 octets (RFC 5322 §2.1.1) is left out.
    /// </summary>
    public static byte[] Fields(string name, string domain, string? url, bool digest = false)
    {
        var mailto = $"<mailto:{name}-{(digest ? "digest-" : "")}unsubscribe@{domain}>";
        if (url is null || url.Length + 3 > 998)
            return Encoding.ASCII.GetBytes($"List-Unsubscribe: {mailto}\r\n");
        return Encoding.ASCII.GetBytes($"List-Unsubscribe: {mailto},\r\n <{url}>\r\nList-Unsubscribe-Post: {PostKey}={PostValue}\r\n");
    }

    /// <summary>A copy's VERP sender, NAME-return-N-@DOMAIN-@[] (ListAgent.Post): the list's name and domain.</summary>
    public static (string Name, string Domain)? ListOfCopy(string sender)
    {
        if (!Verp.IsTemplate(sender))
            return null;
        var s = sender[..^Verp.Marker.Length];
        var at = s.LastIndexOf('@');
        var m = CopyPrefix().Match(s[..at]);
        return m.Success ? (m.Groups[1].Value, s[(at + 1)..]) : null;
    }

    /// <summary>A digest's envelope sender, NAME-return-digest-@DOMAIN (ListAgent.Digest): the list's name and domain.</summary>
    public static (string Name, string Domain)? ListOfDigest(string sender)
    {
        var at = sender.LastIndexOf('@');
        var m = at > 0 ? DigestPrefix().Match(sender[..at]) : Match.Empty;
        return m.Success ? (m.Groups[1].Value, sender[(at + 1)..]) : null;
    }

    /// <summary>
    /// For a list copy (the list's own queue message with a copy's VERP sender) or a digest (its
    /// NAME-return-digest- sender), the recipient's List-Unsubscribe fields; the https: URL when
    /// Lists:UnsubscribeBaseUrl is set and the list's secret can be read (else the mailto: one
    /// alone: the copy still says how to leave).
    /// </summary>
    public async ValueTask<byte[]?> FieldsAsync(QueuedMessage message, string recipient, CancellationToken ct)
    {
        if (message.Envelope.Protocol != QueueProtocol)
            return null;
        var digest = false;
        if (ListOfCopy(message.Envelope.Sender) is not var (name, domain))
        {
            if (ListOfDigest(message.Envelope.Sender) is not var (digestName, digestDomain))
                return null;
            (name, domain, digest) = (digestName, digestDomain, true);
        }
        string? url = null;
        if (options.UnsubscribeBaseUrl.Length > 0 && await FolderAsync(name, domain, ct) is { Exists: true } list)
        {
            try
            {
                url = Url(options.UnsubscribeBaseUrl, list.Address, recipient, Token(list.ReadSecret(), list.Address, recipient, digest), digest);
            }
            catch (ListDamagedException e)
            {
                Damaged(_log, list.Address, e.Message);
            }
        }
        return Fields(name, domain, url, digest);
    }

    /// <summary>
    /// The list and subscriber a one-click request names, when its token holds for them (a digest
    /// token with <paramref name="digest"/>); null when the list does not exist or the token does not
    /// hold (the caller tells neither apart). Whether the address is subscribed is not looked at.
    /// </summary>
    public async Task<OneClickTarget?> CheckAsync(string list, string address, string token, bool digest, string client, CancellationToken ct)
    {
        var at = list.LastIndexOf('@');
        var name = at > 0 ? list[..at].ToLowerInvariant() : "";
        var folder = at > 0 && ListFolder.CheckName(name) is null ? await FolderAsync(name, list[(at + 1)..].ToLowerInvariant(), ct) : null;
        string? why = null;
        OneClickTarget? target = null;
        if (folder is not { Exists: true })
            why = "no such list";
        else
        {
            var subscriber = ListFolder.Normalize(address);
            try
            {
                if (Holds(folder.ReadSecret(), folder.Address, subscriber, token, digest))
                    target = new(folder, subscriber, digest);
                else
                    why = "the token does not hold";
            }
            catch (ListDamagedException e)
            {
                Damaged(_log, folder.Address, e.Message);
                why = "the list's secret is damaged";
            }
        }
        if (why is not null)
        {
            var (shownList, shownAddress) = (Printable(list), Printable(address));
            Refused(_log, shownList, shownAddress, client, why);
        }
        return target;
    }

    /// <summary>Removes the address from the subscribers (or the digest set) under the list's lock; whether it was one.</summary>
    public bool Unsubscribe(OneClickTarget target, string client)
    {
        int changed;
        using (target.List.Lock(options.LockWait))
            changed = target.List.Change(target.Set, [target.Address], add: false, options.MaxMembers);
        Unsubscribed(_log, target.List.Address, target.Address, client, target.Digest ? "digest" : "subscribers", changed > 0);
        return changed > 0;
    }

    /// <summary>A stranger's text for the log: one line, at most 254 characters.</summary>
    private static string Printable(string text) =>
        string.Concat(text.Take(254).Select(c => char.IsControl(c) ? '?' : c));

    private async ValueTask<ListFolder?> FolderAsync(string name, string domain, CancellationToken ct) =>
        ListFolder.CheckName(name) is null && await directory.FindDomainAsync(domain, ct) is { } d && d.Name == domain ? lists.Folder(d, name) : null;

    [GeneratedRegex(@"^([^-]+)-return-[0-9]+-$")]
    private static partial Regex CopyPrefix();

    [GeneratedRegex(@"^([^-]+)-return-digest-$")]
    private static partial Regex DigestPrefix();

    [LoggerMessage(EventId = 3220, Level = LogLevel.Information, Message = "list one-click unsubscribed list=<{List}> address=<{Address}> client={Client} set={Set} was={Was}")]
    private static partial void Unsubscribed(ILogger logger, string list, string address, string client, string set, bool was);

    [LoggerMessage(EventId = 3221, Level = LogLevel.Information, Message = "list one-click refused list=<{List}> address=<{Address}> client={Client} reason={Reason}")]
    private static partial void Refused(ILogger logger, string list, string address, string client, string reason);

    [LoggerMessage(EventId = 3206, Level = LogLevel.Error, Message = "list damaged id=- list=<{List}> problem={Problem}")]
    private static partial void Damaged(ILogger logger, string list, string problem);
}
