// A change to a list's settings as the faces give it (`mailward list add|set` options, the web
// admin's form, the API's body): text per setting, null for "keep", checked and applied here once,
// so the command line, the pages and the API accept and refuse the same values.
namespace Mailward.Core.Lists;

public sealed record ListSettingsChange(string? Name = null, string? Policy = null, string? Prefix = null, string? ReplyTo = null,
    string? FromRewrite = null, long? MaxBytes = null, string? Owner = null, string? Trailer = null, string? ConfirmUnsubscribe = null)
{
    /// <summary><paramref name="c"/> with the given settings changed.</summary>
    /// <exception cref="FormatException">A value that is not one the setting takes (the message names it).</exception>
    public ListConfig Apply(ListConfig c) => c with
    {
        Name = Name ?? c.Name,
        Policy = Policy is { } p ? ListConfig.ParseKeyword<PostingPolicy>(p, "policy") : c.Policy,
        Prefix = Prefix ?? c.Prefix,
        ReplyTo = ReplyTo is { } r ? ListConfig.ParseKeyword<ReplyToPolicy>(r, "reply-to") : c.ReplyTo,
        FromRewrite = FromRewrite is { } w ? ListConfig.ParseKeyword<FromRewrite>(w, "from-rewrite") : c.FromRewrite,
        // The config's own bound (ListConfig.Parse refuses a larger max-bytes as damage).
        MaxBytes = MaxBytes is { } m ? (m is >= 0 and <= int.MaxValue ? m : throw new FormatException("max-bytes: 0 to " + int.MaxValue)) : c.MaxBytes,
        Owner = Owner ?? c.Owner,
        Trailer = Trailer ?? c.Trailer,
        ConfirmUnsubscribe = ConfirmUnsubscribe is { } u ? u == "yes" || (u == "no" ? false : throw new FormatException("confirm-unsubscribe: yes or no")) : c.ConfirmUnsubscribe,
    };
}
