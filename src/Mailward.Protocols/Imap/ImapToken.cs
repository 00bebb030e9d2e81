// One argument of an IMAP command as the parser hands it to the session (RFC 9051 §4): an atom
// (NIL, numbers, flags, sequence sets and fetch items such as BODY[HEADER.FIELDS (A B)]<0.10> are
// atoms), a string (quoted or literal), or a parenthesised list of tokens.
namespace Mailward.Protocols.Imap;

public enum ImapTokenKind
{
    Atom,
    Text,
    List,
}

public sealed record ImapToken(ImapTokenKind Kind, string Text, IReadOnlyList<ImapToken> Items, bool IsLiteral = false)
{
    public static ImapToken Atom(string text) => new(ImapTokenKind.Atom, text, []);

    public static ImapToken Str(string text, bool literal = false) => new(ImapTokenKind.Text, text, [], literal);

    public static ImapToken List(IReadOnlyList<ImapToken> items) => new(ImapTokenKind.List, "", items);

    public bool IsNil => Kind == ImapTokenKind.Atom && Text.Equals("NIL", StringComparison.OrdinalIgnoreCase);

    /// <summary>An astring (RFC 9051 §9): an atom or a string; null for a list.</summary>
    public string? AString => Kind == ImapTokenKind.List ? null : Text;

    public bool IsAtom(string text) => Kind == ImapTokenKind.Atom && Text.Equals(text, StringComparison.OrdinalIgnoreCase);

    public override string ToString() => Kind switch
    {
        ImapTokenKind.List => "(" + string.Join(' ', Items) + ")",
        ImapTokenKind.Text => "\"" + Text + "\"",
        _ => Text,
    };
}
