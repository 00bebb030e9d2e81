// Paging for the admin lists (the web admin and the HTTP API page through a million users): a
// cursor that is the sort key of the last item seen, a limit, and an optional search text. Keyset
// paging, not OFFSET: a page costs the same at the end of the list as at its start, and rows added
// or removed meanwhile neither repeat nor skip an item.
namespace Mailward.Core.Accounts;

/// <param name="After">The cursor: items sorting after it (null: from the start), as a page's Next gave it.</param>
/// <param name="Limit">Most items on the page (1 to <see cref="MaxLimit"/>).</param>
/// <param name="Search">Only items whose name contains this text (case-insensitive; null: all).</param>
public sealed record PageRequest(string? After = null, int Limit = PageRequest.DefaultLimit, string? Search = null)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1000;

    public static readonly PageRequest First = new();

    /// <summary>The limit within bounds.</summary>
    public int Size => Math.Clamp(Limit, 1, MaxLimit);

    /// <summary>The search as a LIKE pattern (%text%, wildcards in the text escaped with \), or null.</summary>
    public string? LikePattern => string.IsNullOrEmpty(Search) ? null
        : "%" + Search.ToLowerInvariant().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal)
            .Replace("_", "\\_", StringComparison.Ordinal) + "%";

    /// <summary>
    /// The search as an FTS5 phrase for a trigram index (the text, lowercased, quoted, quotes
    /// doubled), or null when there is none or it is shorter than a trigram: 1 and 2 characters
    /// cannot be looked up in a trigram index and keep the LIKE scan.
    /// </summary>
    public string? TrigramPhrase => string.IsNullOrEmpty(Search) || Search.EnumerateRunes().Count() < 3 ? null
        : "\"" + Search.ToLowerInvariant().Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}

/// <param name="Next">The cursor of the next page; null on the last page.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, string? Next);
