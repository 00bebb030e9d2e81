// The small rules of delivery, without sockets: qmail's retry schedule, MX ordering, routes, and
// the status codes a DSN reports.
using Mailward.Core.Configuration;
using Mailward.Core.Delivery;
using Mailward.Core.Delivery.Remote;
using Mailward.Core.Queue;

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
    [InlineData(550, "550 5.1.1 <x@y>: no such user", DeliveryStatus.Permanent, "5.1.1")]
    [InlineData(552, "552 message too big", DeliveryStatus.Permanent, "5.0.0")]
    [InlineData(550, "550 4.2.2 class disagrees with the reply", DeliveryStatus.Permanent, "5.0.0")]
    [InlineData(451, "451 4.7.1 greylisted", DeliveryStatus.Temporary, "4.7.1")]
    [InlineData(421, "421 service not available", DeliveryStatus.Temporary, "4.0.0")]
    [InlineData(550, "550 5.1.10 null MX", DeliveryStatus.Permanent, "5.1.10")]
    [InlineData(550, "550 5.1.1x not a code", DeliveryStatus.Permanent, "5.0.0")]
    public void A_remote_reply_gives_its_enhanced_code_only_when_its_class_agrees(int code, string reply, DeliveryStatus status, string expected)
    {
        var result = DeliveryResult.FromReply("mx.test", code, reply, "mx.test [192.0.2.1] said: " + reply);
        Assert.Equal(status, result.Status);
        Assert.Equal(expected, result.Code);
        Assert.Equal(new RemoteReply("mx.test", reply), result.Remote);
    }

    [Fact]
    public void A_failure_is_built_with_a_code_of_its_own_class()
    {
        Assert.Equal("5.2.2", DeliveryResult.Permanent("5.2.2", "mailbox full").Code);
        Assert.Throws<ArgumentException>(() => DeliveryResult.Permanent("4.2.2", "mailbox full"));
        Assert.Throws<ArgumentException>(() => DeliveryResult.Temporary("5.4.1", "x"));
        Assert.Throws<ArgumentException>(() => DeliveryResult.Temporary("4.x.1", "x"));
    }

    [Fact]
    public void A_DSN_takes_the_recorded_code_and_remote_reply_and_a_record_without_a_code_says_5_0_0()
    {
        using var original = new MemoryStream("Subject: hi\r\n\r\nbody\r\n"u8.ToArray());
        var dsn = BounceBuilder.Build("mx.hosted.test", "a@sender.test", "Q1", DateTimeOffset.UnixEpoch,
            [
                new FailedRecipient("x@remote.test", new RecipientReport("mx.remote.test [192.0.2.1] said: 550 5.7.1 no thanks", "5.7.1", "mx.remote.test", "550 5.7.1 no thanks")),
                new FailedRecipient("y@hosted.test", new RecipientReport("no such user here (a quota of words: mailbox full, looping)", "5.1.1")),
                new FailedRecipient("z@hosted.test", new RecipientReport("recorded before codes existed: mailbox is over quota")),
            ], original, doubleBounce: false, DateTimeOffset.UnixEpoch);
        var message = MimeKit.MimeMessage.Load(new MemoryStream(dsn));
        var status = ((MimeKit.MultipartReport)message.Body!).OfType<MimeKit.MessageDeliveryStatus>().Single().StatusGroups;
        Assert.Equal("5.7.1", status[1]["Status"]);
        Assert.Equal("dns; mx.remote.test", status[1]["Remote-MTA"]);
        Assert.Equal("smtp; 550 5.7.1 no thanks", status[1]["Diagnostic-Code"]);
        Assert.Equal("5.1.1", status[2]["Status"]); // the words in the reason decide nothing
        Assert.Null(status[2]["Remote-MTA"]);
        Assert.Equal("5.0.0", status[3]["Status"]);
        Assert.StartsWith("X-Mailward; recorded before codes", status[3]["Diagnostic-Code"]);
    }
}
