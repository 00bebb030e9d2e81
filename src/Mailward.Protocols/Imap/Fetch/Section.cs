// A FETCH BODY[section] / BODY.PEEK[section] specifier (RFC 9051 §6.4.5): the part number, then
// what of it: the part's content, HEADER, TEXT, MIME, HEADER.FIELDS (...) or HEADER.FIELDS.NOT (...).
namespace Mailward.Protocols.Imap.Fetch;

public enum SectionKind
{
    /// <summary>[] the whole message, or [1.2] a part's content.</summary>
    Content,
    Header,
    Text,
    Mime,
    HeaderFields,
    HeaderFieldsNot,
}

public sealed record Section(int[] Part, SectionKind Kind, IReadOnlyList<string>? Fields = null)
{
    public static Section Whole { get; } = new([], SectionKind.Content);
}
