// HTML built from interpolated strings in which every hole is escaped (HtmlEncoder) unless it is
// already Html: a value from the store or the request cannot become markup by being forgotten.
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;

namespace Mailward.Web.Pages;

public readonly record struct Html(string Value)
{
    public static readonly Html Empty = new("");

    public override string ToString() => Value ?? "";

    /// <summary>Markup whose holes are escaped: Html.Of($"&lt;td&gt;{name}&lt;/td&gt;").</summary>
    public static Html Of(ref HtmlHandler handler) => handler.ToHtml();

    public static Html Join(IEnumerable<Html> parts) => new(string.Concat(parts.Select(p => p.Value)));

    public static Html When(bool condition, Html html) => condition ? html : Empty;
}

[InterpolatedStringHandler]
public ref struct HtmlHandler
{
    private readonly StringBuilder _sb;

    public HtmlHandler(int literalLength, int formattedCount) => _sb = new StringBuilder(literalLength + formattedCount * 16);

    public readonly void AppendLiteral(string s) => _sb.Append(s);

    public readonly void AppendFormatted(Html html) => _sb.Append(html.Value);

    public readonly void AppendFormatted<T>(T value) => AppendFormatted(value, null);

    public readonly void AppendFormatted<T>(T value, string? format) =>
        _sb.Append(HtmlEncoder.Default.Encode(value is IFormattable f ? f.ToString(format, System.Globalization.CultureInfo.InvariantCulture) : value?.ToString() ?? ""));

    public readonly Html ToHtml() => new(_sb.ToString());
}
