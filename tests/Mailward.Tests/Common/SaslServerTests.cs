// The shared SASL code (PLAIN, LOGIN) on its own: what each answer of a client becomes, and which
// challenges go out. SMTP AUTH and POP3 AUTH run it over sockets in SubmissionTests and the
// auth-plain.pop3 transcript.
using System.Text;
using Mailward.Protocols.Common.Sasl;

namespace Mailward.Tests.Common;

public class SaslServerTests
{
    private static string B64(string s) => Convert.ToBase64String(Encoding.UTF8.GetBytes(s));

    /// <summary>Runs an exchange whose client answers each challenge from <paramref name="answers"/>; returns the outcome and the challenges sent.</summary>
    private static async Task<(SaslOutcome Outcome, List<string> Challenges)> RunAsync(SaslMechanism m, string? initial, params string?[] answers)
    {
        var sent = new List<string>();
        var next = 0;
        var outcome = await SaslServer.RunAsync(m, initial, (challenge, _) =>
        {
            sent.Add(challenge);
            return Task.FromResult(next < answers.Length ? answers[next++] : null);
        }, CancellationToken.None);
        return (outcome, sent);
    }

    [Theory]
    [InlineData("\0joe@hosted.test\0pw", SaslResult.Credentials)]
    [InlineData("joe@hosted.test\0joe@hosted.test\0pw", SaslResult.Credentials)] // authzid = authcid
    [InlineData("ann@hosted.test\0joe@hosted.test\0pw", SaslResult.Malformed)]   // acting as another: not supported
    [InlineData("joe@hosted.test\0pw", SaslResult.Malformed)]
    public async Task Plain_takes_authzid_authcid_and_password(string response, SaslResult expected)
    {
        var (outcome, challenges) = await RunAsync(SaslMechanism.Plain, B64(response));
        Assert.Equal(expected, outcome.Result);
        Assert.Empty(challenges); // the initial response saved a round trip
        if (expected == SaslResult.Credentials)
            Assert.Equal(("joe@hosted.test", "pw"), (outcome.User, outcome.Password));
    }

    [Fact]
    public async Task Plain_without_an_initial_response_sends_an_empty_challenge()
    {
        var (outcome, challenges) = await RunAsync(SaslMechanism.Plain, null, B64("\0joe@hosted.test\0pw"));
        Assert.Equal(SaslResult.Credentials, outcome.Result);
        Assert.Equal([""], challenges);
    }

    [Theory]
    [InlineData("*", SaslResult.Cancelled)]
    [InlineData("!!!", SaslResult.MalformedBase64)]
    [InlineData("=", SaslResult.Malformed)] // an empty response holds no credentials
    [InlineData(null, SaslResult.Disconnected)]
    public async Task Plain_answers_that_are_not_credentials(string? answer, SaslResult expected) =>
        Assert.Equal(expected, (await RunAsync(SaslMechanism.Plain, null, answer)).Outcome.Result);

    [Fact]
    public async Task Login_asks_for_the_name_then_the_password()
    {
        var (outcome, challenges) = await RunAsync(SaslMechanism.Login, null, B64("joe@hosted.test"), B64("pw"));
        Assert.Equal(new SaslOutcome(SaslResult.Credentials, "joe@hosted.test", "pw"), outcome);
        Assert.Equal(["VXNlcm5hbWU6", "UGFzc3dvcmQ6"], challenges); // "Username:", "Password:"

        (outcome, challenges) = await RunAsync(SaslMechanism.Login, B64("joe@hosted.test"), B64("pw"));
        Assert.Equal(SaslResult.Credentials, outcome.Result);
        Assert.Equal(["UGFzc3dvcmQ6"], challenges);
    }

    [Fact]
    public async Task Login_cancelled_malformed_or_abandoned()
    {
        var (outcome, challenges) = await RunAsync(SaslMechanism.Login, null, "*");
        Assert.Equal(SaslResult.Cancelled, outcome.Result);
        Assert.Single(challenges); // no password asked after a cancelled name
        Assert.Equal(SaslResult.Cancelled, (await RunAsync(SaslMechanism.Login, null, B64("joe"), "*")).Outcome.Result);
        Assert.Equal(SaslResult.MalformedBase64, (await RunAsync(SaslMechanism.Login, null, "!!!", B64("pw"))).Outcome.Result);
        Assert.Equal(SaslResult.Disconnected, (await RunAsync(SaslMechanism.Login, null, B64("joe"))).Outcome.Result);
    }

    [Fact]
    public void Only_offered_mechanisms_are_found_in_any_case()
    {
        Assert.Equal(SaslMechanism.Login, SaslServer.Find("login", [SaslMechanism.Plain, SaslMechanism.Login]));
        Assert.Null(SaslServer.Find("LOGIN", [SaslMechanism.Plain]));
        Assert.Null(SaslServer.Find("CRAM-MD5", [SaslMechanism.Plain, SaslMechanism.Login]));
    }
}
