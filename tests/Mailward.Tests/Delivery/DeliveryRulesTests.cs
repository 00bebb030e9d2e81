// The small rules of delivery, without sockets: qmail's retry schedule, MX ordering, routes, and
// the status codes a DSN reports.
using Mailward.Core.Configuration;
using Mailward.Core.Delivery;
using Mailward.Core.Delivery.Remote;

namespace Mailward.Tests.Delivery;

public class DeliveryRulesTests
{
    private static readonly DateTimeOffset Arrived = new(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, 20, 400)]        // remote: (20·1)²
    [InlineData(400, 20, 1600)]     // (20·2)²
    [InlineData(1599, 20, 1600)]
    [InlineData(1600, 20, 3600)]    // (20·3)²
    [InlineData(0, 10, 100)]        // local: (10·1)²
    [InlineData(100, 10, 400)]
    [InlineData(86400, 20, 90000)]  // a day in: sqrt(86400)/20 = 14.7 → attempt 15 at 300² s
    public void The_schedule_is_qmails_quadratic_one(int ageSeconds, int factor, int nextSeconds) =>
        Assert.Equal(Arrived.AddSeconds(nextSeconds), RetrySchedule.NextAttempt(Arrived, Arrived.AddSeconds(ageSeconds), factor));

    [Fact]
    public void Mx_hosts_go_by_preference_and_equal_preferences_are_shuffled()
    {
        (string, int)[] records = [("c.mx", 20), ("a.mx", 10), ("b.mx", 10), ("d.mx", 30)];
        var orders = Enumerable.Range(0, 50).Select(seed => MxResolver.OrderByPreference(records, new Random(seed))).ToList();
        Assert.All(orders, o => Assert.Equal(["c.mx", "d.mx"], o.Skip(2)));
        Assert.All(orders, o => Assert.Equal(["a.mx", "b.mx"], o.Take(2).Order()));
        Assert.Contains(orders, o => o[0] == "a.mx");
        Assert.Contains(orders, o => o[0] == "b.mx");
    }

    [Fact]
    public void Routes_win_over_the_smarthost_which_wins_over_mx()
    {
        var routes = new RemoteRoutes("relay.isp.test:2525", new Dictionary<string, string>
        {
            ["partner.test"] = "10.0.0.5",
            [".corp.test"] = "[::1]:26",
        });
        Assert.Equal(new Destination("10.0.0.5", 25, "partner.test"), routes.For("partner.test"));
        Assert.Equal(new Destination("::1", 26, "mail.eu.corp.test"), routes.For("mail.eu.corp.test"));
        Assert.Equal(new Destination("relay.isp.test", 2525, "other.test", SmartHost: true), routes.For("other.test"));
        Assert.Equal("mx:other.test", new RemoteRoutes("", new Dictionary<string, string>()).For("other.test").Key);
        Assert.Throws<SettingsException>(() => new RemoteRoutes("host:notaport", new Dictionary<string, string>()));
    }

    [Theory]
    [InlineData("mx.test [192.0.2.1] said: 550 5.1.1 <x@y>: no such user", "5.1.1")]
    [InlineData("mx.test [192.0.2.1] said: 552 message too big", "5.0.0")]
    [InlineData("Q's mailbox is full (#5.2.2)", "5.2.2")]
    [InlineData("looping: the message already carries Delivered-To: a@b", "5.4.6")]
    [InlineData("no such user here", "5.1.1")]
    [InlineData("gave up after 7 days in the queue; last error: could not connect", "4.4.7")]
    public void A_DSN_reports_the_remote_code_or_one_that_fits_the_cause(string reason, string status) =>
        Assert.Equal(status, BounceBuilder.StatusCode(reason));
}
