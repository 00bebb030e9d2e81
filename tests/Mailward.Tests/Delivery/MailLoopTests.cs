// Mail that would loop back to this server or probe internal hosts (issue 18, item 6): an address
// literal of loopback, a domain whose MX (served by a test DNS server on loopback) is loopback or
// private, and a peer that greets with our own Hostname all fail permanently, with no delivery to
// the host behind them. A route to loopback, named by the admin, keeps working (the other tests).
using System.Net;
using Mailward.Core.Delivery;
using Mailward.Core.Delivery.Remote;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using MimeKit;

namespace Mailward.Tests.Delivery;

public class MailLoopTests
{
    private static async Task<MessageDeliveryStatus> SingleDsnAsync(ServerFixture server, string address)
    {
        var file = Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, address)));
        var dsn = await MimeMessage.LoadAsync(file);
        return Assert.IsType<MessageDeliveryStatus>(Assert.IsType<MultipartReport>(dsn.Body)[1]);
    }

    [Fact]
    public async Task Mail_to_an_address_literal_of_loopback_loops_back_to_myself_without_a_delivery_attempt()
    {
        // Something listens where the literal points: before the fix the message was delivered there.
        await using var inside = new TestMta();
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", $"--Remote:Port={inside.Port}");
        await SlowDestinationTests.SendRawAsync(server, "me@hosted.test", "postmaster@[127.0.0.1]", "probe");
        await DeliveryTestMail.SettleAsync(server);
        var status = await SingleDsnAsync(server, "me@hosted.test");
        Assert.Equal("5.4.6", status.StatusGroups[1]["Status"]);
        Assert.Contains("loops back to myself", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.Equal(0, inside.Connections);
    }

    [Fact]
    public async Task A_domain_whose_mx_is_loopback_loops_back_to_myself_without_a_delivery_attempt()
    {
        await using var inside = new TestMta();
        await using var dns = new TestDns();
        dns.Mx["looped.test"] = [(10, "mx.looped.test")];
        dns.Addresses["mx.looped.test"] = [IPAddress.Loopback];
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", $"--Remote:Port={inside.Port}", $"--Remote:DnsServers={dns.Endpoint}");
        await DeliveryTestMail.SendAsync(server, "someone@looped.test", "loop", from: "me@hosted.test");
        await DeliveryTestMail.SettleAsync(server);
        Assert.Contains("looped.test MX", dns.Questions); // the MX really came from the test DNS server
        var status = await SingleDsnAsync(server, "me@hosted.test");
        Assert.Equal("5.4.6", status.StatusGroups[1]["Status"]);
        Assert.Contains("mail for looped.test loops back to myself (127.0.0.1)", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.Equal(0, inside.Connections);
    }

    [Fact]
    public async Task A_peer_that_greets_with_our_own_hostname_is_a_loop_and_bounces_at_once()
    {
        await using var mirror = new TestMta { Name = "mail.test" }; // the fixture's Hostname
        await using var server = await ServerFixture.StartAsync(["user me@hosted.test"],
            "--Delivery:Enabled=true", $"--Remote:Routes:remote.test={mirror.Endpoint}");
        await DeliveryTestMail.SendAsync(server, "someone@remote.test", "mirror", from: "me@hosted.test");
        await DeliveryTestMail.SettleAsync(server);
        var status = await SingleDsnAsync(server, "me@hosted.test");
        Assert.Equal("5.4.6", status.StatusGroups[1]["Status"]);
        Assert.Contains("greeted me with my own hostname", status.StatusGroups[1]["Diagnostic-Code"]);
        Assert.Empty(mirror.Received);
    }

    private static MxResolver Resolver(TestDns dns, bool allowPrivate = false) =>
        new(new DnsClient.LookupClient(new DnsClient.LookupClientOptions(IPEndPoint.Parse(dns.Endpoint)) { UseCache = false }),
            new TargetGuard(allowPrivate), maxAddresses: 5);

    [Fact]
    public async Task Private_mx_targets_are_refused_unless_allowed_and_hosts_behind_our_own_preference_are_dropped()
    {
        await using var dns = new TestDns();
        dns.Mx["inside.test"] = [(10, "mx.inside.test")];
        dns.Addresses["mx.inside.test"] = [IPAddress.Parse("10.1.2.3")];
        dns.Mx["backup.test"] = [(10, "primary.backup.test"), (20, "me.backup.test"), (30, "worse.backup.test")];
        dns.Addresses["primary.backup.test"] = [IPAddress.Parse("198.51.100.10")];
        dns.Addresses["me.backup.test"] = [IPAddress.Parse("127.0.0.1")];
        dns.Addresses["worse.backup.test"] = [IPAddress.Parse("198.51.100.30")];

        var refused = await Resolver(dns).ResolveAsync(new Destination(null, 25, "inside.test"), default);
        Assert.Equal(DeliveryStatus.Permanent, refused.Failure?.Status);
        Assert.Contains("private address (10.1.2.3)", refused.Failure!.Detail);
        var lab = await Resolver(dns, allowPrivate: true).ResolveAsync(new Destination(null, 25, "inside.test"), default);
        Assert.Equal("10.1.2.3", Assert.Single(lab.Hosts).Endpoint.Address.ToString());

        // RFC 5321 §5.1: this host is MX 20, so only the better MX 10 may take the mail.
        var backup = await Resolver(dns).ResolveAsync(new Destination(null, 25, "backup.test"), default);
        Assert.Null(backup.Failure);
        Assert.Equal("198.51.100.10", Assert.Single(backup.Hosts).Endpoint.Address.ToString());
    }

    [Fact]
    public async Task At_most_five_mx_addresses_are_tried_and_no_more_names_are_looked_up_than_needed()
    {
        await using var dns = new TestDns();
        // TEST-NET-2: the machine running the tests may well own an address in TEST-NET-1.
        dns.Mx["many.test"] = Enumerable.Range(1, 20).Select(i => (i, $"mx{i}.many.test")).ToArray();
        for (var i = 1; i <= 20; i++)
            dns.Addresses[$"mx{i}.many.test"] = [IPAddress.Parse($"198.51.100.{i}")];
        var found = await Resolver(dns).ResolveAsync(new Destination(null, 25, "many.test"), default);
        Assert.Equal(["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4", "198.51.100.5"], found.Hosts.Select(h => h.Endpoint.Address.ToString()));
        Assert.DoesNotContain("mx6.many.test A", dns.Questions);
    }
}
