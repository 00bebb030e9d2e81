// |program delivery lines against what a domain's program (or its author) may do: leave a child
// running that holds the output past the deadline, read the server's environment, or have its
// command line (the domain's business) shown to a stranger in a bounce.
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Delivery;

public sealed class ProgramDeliveryTests : IDisposable
{
    private readonly TempFolder _dir = new();

    private static bool Running(string marker) =>
        Directory.EnumerateDirectories("/proc").Any(d =>
        {
            try
            {
                return File.ReadAllText(Path.Combine(d, "cmdline")).Contains(marker, StringComparison.Ordinal);
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        });

    [Fact]
    public async Task Programs_and_the_children_they_leave_are_killed_as_a_group_at_the_deadline()
    {
        await using var server = await ServerFixture.StartAsync(
        [
            "user me@hosted.test",
            "alias left@hosted.test |sleep 30.71 & exit 0",   // the shell ends; its child holds stdout
            "alias hung@hosted.test |sh -c 'sleep 30.72 & sleep 30.73'", // a grandchild and a child, both hung
        ], "--Delivery:Enabled=true", "--Delivery:ProgramDomains=hosted.test", "--Delivery:ProgramTimeoutSeconds=2");
        var started = DateTime.UtcNow;
        await DeliveryTestMail.SendAsync(server, "left@hosted.test", "left behind", from: "me@hosted.test");
        await DeliveryTestMail.SendAsync(server, "hung@hosted.test", "hung", from: "me@hosted.test");
        await DeliveryTestMail.SettleAsync(server, left: 1); // hung is deferred
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), $"took {DateTime.UtcNow - started}");

        Assert.Contains(server.Log, l => l.Contains("to=<left@hosted.test> channel=local result=delivered", StringComparison.Ordinal));
        Assert.Contains(server.Log, l => l.Contains("to=<hung@hosted.test> channel=local result=deferred detail=program timed out after 2 s and was killed", StringComparison.Ordinal));
        await Task.Delay(500);
        Assert.False(Running("30.71"), "the child left behind still runs");
        Assert.False(Running("30.72"), "the grandchild still runs");
        Assert.False(Running("30.73"), "the child still runs");
    }

    [Fact]
    public async Task Programs_get_a_minimal_environment_and_their_command_line_stays_out_of_the_bounce()
    {
        var env = _dir.Combine("env");
        Environment.SetEnvironmentVariable("MAILWARD_Probe__Secret", "server-secret-4711");
        try
        {
            await using var server = await ServerFixture.StartAsync(
            [
                "user me@hosted.test",
                $"alias env@hosted.test |env > {env}",
                "alias slow@hosted.test |sleep 30.74 # route-token-Zq81",
            ], "--Delivery:Enabled=true", "--Delivery:ProgramDomains=hosted.test", "--Delivery:ProgramTimeoutSeconds=2", "--Queue:Lifetime=0");
            await DeliveryTestMail.SendAsync(server, "env@hosted.test", "environment", from: "me@hosted.test");
            await DeliveryTestMail.SendAsync(server, "slow@hosted.test", "to a slow program", from: "me@hosted.test");
            await DeliveryTestMail.SettleAsync(server);

            var vars = (await File.ReadAllLinesAsync(env)).Where(l => l.Contains('=', StringComparison.Ordinal)).Select(l => l[..l.IndexOf('=', StringComparison.Ordinal)]).ToHashSet();
            Assert.DoesNotContain(vars, v => v.StartsWith("MAILWARD_", StringComparison.Ordinal));
            Assert.Contains("PATH", vars);
            Assert.Contains("SENDER", vars);
            Assert.Contains("RECIPIENT", vars);
            Assert.DoesNotContain(vars, v => v.StartsWith("DOTNET_", StringComparison.Ordinal));
            var bounce = await File.ReadAllTextAsync(Assert.Single(DeliveryTestMail.NewMail(DeliveryTestMail.Maildir(server, "me@hosted.test"))));
            Assert.Contains("<slow@hosted.test>", bounce);
            Assert.Contains("program timed out", bounce);
            Assert.DoesNotContain("route-token-Zq81", bounce);
            Assert.DoesNotContain(server.Log, l => l.Contains("route-token-Zq81", StringComparison.Ordinal));
        }
        finally
        {
            Environment.SetEnvironmentVariable("MAILWARD_Probe__Secret", null);
        }
    }

    public void Dispose() => _dir.Dispose();
}
