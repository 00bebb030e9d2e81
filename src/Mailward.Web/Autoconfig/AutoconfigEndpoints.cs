// Mail client autoconfiguration on the Admin listener, naming this server's real ports and TLS
// modes (MailListeners) and its Hostname, never the request's Host header:
// - Mozilla/Thunderbird autoconfig, config-v1.1.xml at /mail/ and /.well-known/autoconfig/mail/
//   (the ISPDB format), for a hosted domain (?emailaddress=);
// - Microsoft Autodiscover, the Outlook "POX" schema (POST /autodiscover/autodiscover.xml);
// - an Apple configuration profile (.mobileconfig, com.apple.mail.managed) for the logged-in account.
// The user name is always the full address (how LoginService takes it). Nothing says whether an
// address exists: only whether its domain is hosted (as MX records do).
using System.Security.Cryptography;
using System.Text;
using System.Xml;
using System.Xml.Linq;
using Mailward.Core.Accounts;
using Mailward.Core.Addresses;
using Mailward.Web.Access;
using Mailward.Web.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Web.Autoconfig;

internal static class AutoconfigEndpoints
{
    public const string MozillaPath = "/mail/config-v1.1.xml";
    public const string MozillaWellKnownPath = "/.well-known/autoconfig/mail/config-v1.1.xml";
    public const string AutodiscoverPath = "/autodiscover/autodiscover.xml";
    public const string MobileconfigPath = "/account/mobileconfig";

    /// <summary>The largest Autodiscover request read (a real one is about 400 bytes).</summary>
    private const int MaxAutodiscoverBytes = 16 * 1024;

    private static readonly XNamespace AutodiscoverNs = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
    private static readonly XNamespace OutlookNs = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
    private static readonly XNamespace RequestNs = "http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006";

    public static void Map(WebApplication app)
    {
        AdminWeb.Map(app, "GET", MozillaPath, MozillaAsync);
        AdminWeb.Map(app, "GET", MozillaWellKnownPath, MozillaAsync);
        AdminWeb.Map(app, "POST", AutodiscoverPath, AutodiscoverAsync);
        AdminWeb.Map(app, "GET", MobileconfigPath, MobileconfigAsync);
    }

    private static MailListeners Listeners(HttpContext context) => context.RequestServices.GetRequiredService<MailListeners>();

    private static string Hostname(HttpContext context) => context.RequestServices.GetRequiredService<AdminWebOptions>().Hostname;

    /// <summary>The hosted domain of an address (alias domains followed), or null.</summary>
    private static async Task<DomainRecord?> HostedAsync(HttpContext context, string? address)
    {
        if (address is null || !MailAddress.TryParse(address.Trim(), out var a, out _))
            return null;
        return await context.RequestServices.GetRequiredService<IAccountDirectory>().FindDomainAsync(a.Domain, context.RequestAborted);
    }

    /// <summary>Thunderbird's autoconfig (the ISPDB config-v1.1 format): every client listener, implicit TLS first.</summary>
    private static async Task<IResult> MozillaAsync(HttpContext context, WebUser? _)
    {
        var address = context.Request.Query["emailaddress"].FirstOrDefault();
        var domain = await HostedAsync(context, address);
        if (domain is null)
            return Results.NotFound();
        var host = Hostname(context);
        var listeners = Listeners(context).ForClients();
        XElement Server(string element, BoundListener l) => new(element, new XAttribute("type", l.Protocol),
            new XElement("hostname", host), new XElement("port", l.Port), new XElement("socketType", l.Tls == ListenerTls.Implicit ? "SSL" : "STARTTLS"),
            new XElement("username", "%EMAILADDRESS%"), new XElement("authentication", "password-cleartext"));
        var provider = new XElement("emailProvider", new XAttribute("id", domain.Name),
            new XElement("domain", domain.Name), new XElement("displayName", $"{domain.Name} ({host})"), new XElement("displayShortName", domain.Name),
            listeners.Where(l => l.Protocol != "smtp").Select(l => Server("incomingServer", l)),
            listeners.Where(l => l.Protocol == "smtp").Select(l => Server("outgoingServer", l)));
        return Xml(new XDocument(new XElement("clientConfig", new XAttribute("version", "1.1"), provider)), "application/xml");
    }

    /// <summary>Outlook's POX Autodiscover: the request names the address; the answer lists IMAP, POP3 and SMTP.</summary>
    private static async Task<IResult> AutodiscoverAsync(HttpContext context, WebUser? _)
    {
        string? address;
        try
        {
            address = await ReadAutodiscoverAddressAsync(context);
        }
        catch (XmlException)
        {
            return Results.BadRequest();
        }
        var domain = await HostedAsync(context, address);
        if (domain is null)
            return Results.NotFound();
        var host = Hostname(context);
        var login = MailAddress.Parse(address!).ToString();
        XElement Protocol(BoundListener l) => new(OutlookNs + "Protocol",
            new XElement(OutlookNs + "Type", l.Protocol.ToUpperInvariant()),
            new XElement(OutlookNs + "Server", host),
            new XElement(OutlookNs + "Port", l.Port),
            new XElement(OutlookNs + "LoginName", login),
            new XElement(OutlookNs + "DomainRequired", "off"),
            new XElement(OutlookNs + "SPA", "off"),
            // SSL on: implicit TLS; Encryption TLS: STARTTLS (Outlook's POX reading of the two).
            l.Tls == ListenerTls.Implicit ? new XElement(OutlookNs + "SSL", "on") : new XElement(OutlookNs + "Encryption", "TLS"),
            new XElement(OutlookNs + "AuthRequired", "on"));
        // One of each kind: Outlook takes the first IMAP, POP3 and SMTP entries.
        var chosen = Listeners(context).ForClients().GroupBy(l => l.Protocol).Select(g => g.First());
        var doc = new XDocument(new XElement(AutodiscoverNs + "Autodiscover",
            new XElement(OutlookNs + "Response",
                new XElement(OutlookNs + "Account",
                    new XElement(OutlookNs + "AccountType", "email"),
                    new XElement(OutlookNs + "Action", "settings"),
                    chosen.Select(Protocol)))));
        return Xml(doc, "text/xml");
    }

    /// <summary>The EMailAddress of the request, read with no DTD, no entities and a size bound.</summary>
    private static async Task<string?> ReadAutodiscoverAddressAsync(HttpContext context)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[4096];
        int n;
        while ((n = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + n > MaxAutodiscoverBytes)
                throw new XmlException("request too large");
            buffer.Write(chunk, 0, n);
        }
        buffer.Position = 0;
        using var reader = XmlReader.Create(buffer, new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit, XmlResolver = null, MaxCharactersInDocument = MaxAutodiscoverBytes });
        var doc = XDocument.Load(reader);
        return doc.Descendants().FirstOrDefault(e => e.Name.LocalName == "EMailAddress" && (e.Name.Namespace == RequestNs || e.Name.Namespace == XNamespace.None))?.Value;
    }

    /// <summary>
    /// An Apple configuration profile for the logged-in account: one com.apple.mail.managed payload
    /// (IMAP if there is an IMAP listener, else POP3; submission for sending), password not included.
    /// Its identifiers are derived from the address, so a second download replaces the first.
    /// </summary>
    private static Task<IResult> MobileconfigAsync(HttpContext context, WebUser? user)
    {
        var host = Hostname(context);
        var address = user!.Address;
        var listeners = Listeners(context).ForClients();
        var incoming = listeners.FirstOrDefault(l => l.Protocol == "imap") ?? listeners.FirstOrDefault(l => l.Protocol == "pop3");
        var outgoing = listeners.FirstOrDefault(l => l.Protocol == "smtp");
        if (incoming is null || outgoing is null)
            return Task.FromResult(Pages.Layout.ErrorPage(context, user, 404, "Not available", "This server has no IMAP or POP3 listener, or no submission listener, to configure."));
        var mail = new[]
        {
            ("EmailAccountDescription", (object)address), ("EmailAccountName", user.Record.Gecos), ("EmailAccountType", incoming.Protocol == "imap" ? "EmailTypeIMAP" : "EmailTypePOP"),
            ("EmailAddress", address),
            ("IncomingMailServerAuthentication", "EmailAuthPassword"), ("IncomingMailServerHostName", host), ("IncomingMailServerPortNumber", incoming.Port),
            ("IncomingMailServerUseSSL", true), ("IncomingMailServerUsername", address),
            ("OutgoingMailServerAuthentication", "EmailAuthPassword"), ("OutgoingMailServerHostName", host), ("OutgoingMailServerPortNumber", outgoing.Port),
            ("OutgoingMailServerUseSSL", true), ("OutgoingMailServerUsername", address), ("OutgoingPasswordSameAsIncomingPassword", true),
            ("PayloadDisplayName", $"Mail: {address}"), ("PayloadIdentifier", $"{Reverse(host)}.mail.{Id(address, "account")}"), ("PayloadType", "com.apple.mail.managed"),
            ("PayloadUUID", Uuid(address, "account")), ("PayloadVersion", 1),
        };
        var profile = new[]
        {
            ("PayloadContent", (object)new[] { mail }), ("PayloadDisplayName", $"{address} on {host}"),
            ("PayloadIdentifier", $"{Reverse(host)}.profile.{Id(address, "profile")}"), ("PayloadRemovalDisallowed", false), ("PayloadType", "Configuration"),
            ("PayloadUUID", Uuid(address, "profile")), ("PayloadVersion", 1),
        };
        var doc = new XDocument(new XDocumentType("plist", "-//Apple//DTD PLIST 1.0//EN", "http://www.apple.com/DTDs/PropertyList-1.0.dtd", null),
            new XElement("plist", new XAttribute("version", "1.0"), Plist(profile)));
        context.Response.Headers.ContentDisposition = $"attachment; filename=\"{MailAddress.Parse(address).Local}.mobileconfig\"";
        return Task.FromResult(Xml(doc, "application/x-apple-aspen-config"));
    }

    private static XElement Plist(object value) => value switch
    {
        (string, object)[] dict => new XElement("dict", dict.SelectMany(kv => new[] { new XElement("key", kv.Item1), Plist(kv.Item2) })),
        (string, object)[][] array => new XElement("array", array.Select(Plist)),
        string s => new XElement("string", s),
        int i => new XElement("integer", i),
        bool b => new XElement(b ? "true" : "false"),
        _ => throw new ArgumentException($"no plist form for {value.GetType()}", nameof(value)),
    };

    private static string Reverse(string host) => string.Join('.', host.Split('.').Reverse());

    private static string Id(string address, string what) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(what + ":" + address)))[..16];

    /// <summary>A UUID made from the address (a name-based one: the same address, the same profile).</summary>
    private static string Uuid(string address, string what)
    {
        var h = SHA256.HashData(Encoding.UTF8.GetBytes("mailward:" + what + ":" + address));
        h[6] = (byte)((h[6] & 0x0F) | 0x50);
        h[8] = (byte)((h[8] & 0x3F) | 0x80);
        return new Guid(h.AsSpan(0, 16), bigEndian: true).ToString().ToUpperInvariant();
    }

    private static IResult Xml(XDocument doc, string type)
    {
        var text = new StringBuilder();
        using (var w = XmlWriter.Create(text, new XmlWriterSettings { Indent = true, Encoding = Encoding.UTF8, OmitXmlDeclaration = false }))
            doc.Save(w);
        // StringBuilder writers say utf-16 in the declaration; the bytes sent are UTF-8.
        return Results.Text(text.ToString().Replace("encoding=\"utf-16\"", "encoding=\"utf-8\"", StringComparison.Ordinal), type + "; charset=utf-8");
    }
}
