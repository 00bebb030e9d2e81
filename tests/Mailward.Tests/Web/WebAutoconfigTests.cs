// Mail client autoconfiguration against the running server (issue 13 item 5): Thunderbird's
// config-v1.1.xml at both paths, Outlook's POX Autodiscover and the Apple .mobileconfig, each
// parsed as XML and checked against the listeners the server really bound (ephemeral ports here)
// and their TLS modes; the name is Hostname's whatever Host the request claims; port 25's MX
// listener is never offered; an unknown domain gets nothing; a DTD in a request is refused.
using System.Net;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Mailward.Tests.Web;

public sealed class WebAutoconfigTests(WebServer web) : IClassFixture<WebServer>
{
    private static XDocument Parse(string text) =>
        XDocument.Load(XmlReader.Create(new StringReader(text), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null }));

    [Theory]
    [InlineData("/mail/config-v1.1.xml")]
    [InlineData("/.well-known/autoconfig/mail/config-v1.1.xml")]
    public async Task Thunderbird_autoconfig_names_the_bound_ports_and_tls_modes(string path)
    {
        using var client = web.Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, path + "?emailaddress=u1%40a.test");
        request.Headers.Host = "evil.example";
        using var r = await (await client.SendAsync(request)).EnsureSuccessAsync();
        var doc = Parse(await r.Content.ReadAsStringAsync());
        var provider = doc.Root!.Element("emailProvider")!;
        Assert.Equal("a.test", provider.Attribute("id")!.Value);
        Assert.Equal("a.test", provider.Element("domain")!.Value);
        var servers = provider.Elements().Where(e => e.Name.LocalName is "incomingServer" or "outgoingServer")
            .Select(e => (Kind: e.Name.LocalName, Type: e.Attribute("type")!.Value, Host: e.Element("hostname")!.Value,
                Port: int.Parse(e.Element("port")!.Value, System.Globalization.CultureInfo.InvariantCulture), Socket: e.Element("socketType")!.Value,
                User: e.Element("username")!.Value)).ToList();
        var s = web.Server;
        Assert.Equal(
            [("incomingServer", "imap", s.Imaps.Port, "SSL"), ("incomingServer", "imap", s.Imap.Port, "STARTTLS"),
             ("incomingServer", "pop3", s.Pop3s.Port, "SSL"), ("incomingServer", "pop3", s.Pop3.Port, "STARTTLS"),
             ("outgoingServer", "smtp", s.Smtps.Port, "SSL"), ("outgoingServer", "smtp", s.Submission.Port, "STARTTLS")],
            servers.Select(x => (x.Kind, x.Type, x.Port, x.Socket)));
        Assert.All(servers, x => Assert.Equal(("mail.test", "%EMAILADDRESS%"), (x.Host, x.User)));
        Assert.DoesNotContain(servers, x => x.Port == s.Smtp.Port);
    }

    [Fact]
    public async Task An_unhosted_domain_or_no_address_gets_nothing()
    {
        using var client = web.Client();
        using (var r = await client.GetAsync("/mail/config-v1.1.xml?emailaddress=someone%40elsewhere.test"))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using (var r = await client.GetAsync("/mail/config-v1.1.xml"))
            Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
    }

    private static string AutodiscoverRequest(string address) => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
          <Request>
            <EMailAddress>{address}</EMailAddress>
            <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
          </Request>
        </Autodiscover>
        """;

    [Fact]
    public async Task Outlook_autodiscover_answers_imap_pop3_and_smtp_with_implicit_tls()
    {
        using var client = web.Client();
        using var r = await client.PostRawAsync("/autodiscover/autodiscover.xml", AutodiscoverRequest("u1@a.test"), "text/xml");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var doc = Parse(await r.Content.ReadAsStringAsync());
        XNamespace a = "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006";
        XNamespace o = "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a";
        Assert.Equal(a + "Autodiscover", doc.Root!.Name);
        var account = doc.Root.Element(o + "Response")!.Element(o + "Account")!;
        Assert.Equal("email", account.Element(o + "AccountType")!.Value);
        var protocols = account.Elements(o + "Protocol").ToDictionary(p => p.Element(o + "Type")!.Value);
        Assert.Equal(["IMAP", "POP3", "SMTP"], protocols.Keys.Order(StringComparer.Ordinal));
        var s = web.Server;
        foreach (var (type, port) in new[] { ("IMAP", s.Imaps.Port), ("POP3", s.Pop3s.Port), ("SMTP", s.Smtps.Port) })
        {
            var p = protocols[type];
            Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), p.Element(o + "Port")!.Value);
            Assert.Equal(("mail.test", "u1@a.test", "on"), (p.Element(o + "Server")!.Value, p.Element(o + "LoginName")!.Value, p.Element(o + "SSL")!.Value));
        }

        using var unknown = await client.PostRawAsync("/autodiscover/autodiscover.xml", AutodiscoverRequest("x@elsewhere.test"), "text/xml");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        const string withDtd = """<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "u1@a.test">]><Autodiscover><Request><EMailAddress>&e;</EMailAddress></Request></Autodiscover>""";
        using var dtd = await client.PostRawAsync("/autodiscover/autodiscover.xml", withDtd, "text/xml");
        Assert.Equal(HttpStatusCode.BadRequest, dtd.StatusCode);
    }

    [Fact]
    public async Task The_mobileconfig_of_the_account_page_is_a_plist_with_the_imap_and_submission_listeners()
    {
        using var anonymous = web.Client();
        using (var r = await anonymous.GetAsync("/account/mobileconfig"))
            Assert.Equal(HttpStatusCode.Redirect, r.StatusCode);

        using var client = await web.LoggedInAsync(WebServer.User);
        Assert.Contains("href=\"/account/mobileconfig\"", await client.GetStringAsync("/account"), StringComparison.Ordinal);
        using var response = await client.GetAsync("/account/mobileconfig");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/x-apple-aspen-config", response.Content.Headers.ContentType?.MediaType);
        var doc = Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("plist", doc.Root!.Name.LocalName);
        var profile = Dict(doc.Root.Element("dict")!);
        Assert.Equal("Configuration", profile["PayloadType"].Value);
        var mail = Dict(profile["PayloadContent"].Element("dict")!);
        Assert.Equal("com.apple.mail.managed", mail["PayloadType"].Value);
        Assert.Equal("EmailTypeIMAP", mail["EmailAccountType"].Value);
        Assert.Equal(WebServer.User, mail["EmailAddress"].Value);
        Assert.Equal(WebServer.User, mail["IncomingMailServerUsername"].Value);
        Assert.Equal("mail.test", mail["IncomingMailServerHostName"].Value);
        Assert.Equal(web.Server.Imaps.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), mail["IncomingMailServerPortNumber"].Value);
        Assert.Equal(web.Server.Smtps.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), mail["OutgoingMailServerPortNumber"].Value);
        Assert.Equal("true", mail["IncomingMailServerUseSSL"].Name.LocalName);
        Assert.True(Guid.TryParse(mail["PayloadUUID"].Value, out _));
        // The same account, the same identifiers: a second download replaces the first profile.
        var again = Dict(Parse(await client.GetStringAsync("/account/mobileconfig")).Root!.Element("dict")!);
        Assert.Equal(profile["PayloadUUID"].Value, again["PayloadUUID"].Value);
    }

    private static Dictionary<string, XElement> Dict(XElement dict)
    {
        var items = dict.Elements().ToList();
        var result = new Dictionary<string, XElement>(StringComparer.Ordinal);
        for (var i = 0; i + 1 < items.Count; i += 2)
            result[items[i].Value] = items[i + 1];
        return result;
    }
}

internal static class HttpResponseExtensions
{
    public static async Task<HttpResponseMessage> EnsureSuccessAsync(this HttpResponseMessage r)
    {
        Assert.True(r.IsSuccessStatusCode, $"{(int)r.StatusCode} {await r.Content.ReadAsStringAsync()}");
        return r;
    }
}
