// The door policy's stages reach the SMTP session: a policy that answers reject, temp-fail or
// tarpit at connect, HELO, MAIL, RCPT or the end of DATA is obeyed with its own reply, in front
// of the real SmtpPolicy over the real store and queue (the default policy accepts at connect and
// HELO, so the transcripts show no change).
using System.Diagnostics;
using System.Net;
using System.Text;
using Mailward.Core.Accounts;
using Mailward.Core.Policy;
using Mailward.Protocols.Smtp;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Policy;

public sealed class PolicyStageTests
{
    /// <summary>The real policy, with one stage's answer replaced.</summary>
    private sealed class Staged(ISmtpPolicy inner) : ISmtpPolicy
    {
        public PolicyDecision? Connect, Helo, Mail, Rcpt, EndOfData;

        /// <summary>Thrown at connect instead of an answer (a check that needed the account store).</summary>
        public Exception? ConnectFails;

        public ValueTask<PolicyDecision> ConnectAsync(ClientInfo client, CancellationToken ct = default) =>
            ConnectFails is { } e ? ValueTask.FromException<PolicyDecision>(e)
            : Connect is { } d ? ValueTask.FromResult(d) : inner.ConnectAsync(client, ct);

        public ValueTask<PolicyDecision> HeloAsync(ClientInfo client, string helo, CancellationToken ct = default) =>
            Helo is { } d ? ValueTask.FromResult(d) : inner.HeloAsync(client, helo, ct);

        public ValueTask<PolicyDecision> MailAsync(ClientInfo client, string mailbox, string address, long declaredSize, CancellationToken ct = default) =>
            Mail is { } d ? ValueTask.FromResult(d) : inner.MailAsync(client, mailbox, address, declaredSize, ct);

        public ValueTask<IReadOnlyList<UserRecord>> RoamingUsersAsync(ClientInfo client, CancellationToken ct = default) => inner.RoamingUsersAsync(client, ct);

        public async ValueTask<RecipientDecision> RcptAsync(ClientInfo client, string localPart, string domain, bool domainIsLiteral, string address, long size = 0,
            CancellationToken ct = default)
        {
            var real = await inner.RcptAsync(client, localPart, domain, domainIsLiteral, address, size, ct);
            return Rcpt is { } d ? real with { Outcome = d } : real;
        }

        public ValueTask<PolicyDecision> EndOfDataAsync(ClientInfo client, IReadOnlyList<string> recipients, IReadOnlySet<string> hosted, long size,
            CancellationToken ct = default) =>
            EndOfData is { } d ? ValueTask.FromResult(d) : inner.EndOfDataAsync(client, recipients, hosted, size, ct);

        public bool HasStorageFor(long size) => inner.HasStorageFor(size);
    }

    /// <summary>Sends <paramref name="input"/> (CRLF lines) to a session under <paramref name="configure"/>'s policy; the replies, and what was queued.</summary>
    private static async Task<(List<string> Replies, int Queued)> TalkAsync(Action<Staged> configure, params string[] input)
    {
        await using var fx = new SmtpFixture(["domain hosted.test", "user joe@hosted.test"]);
        var policy = new Staged(fx.Policy);
        configure(policy);
        var session = new SmtpSession(fx.Options, policy, fx.Queue, NullLogger.Instance);
        var info = new SmtpSessionInfo("P1", IPAddress.Parse("192.0.2.9"), 40000);
        var (client, run) = DuplexStream.Serve(server => session.RunAsync(server, info, CancellationToken.None));
        await client.WriteAsync(Encoding.ASCII.GetBytes(string.Concat(input.Select(l => l + "\r\n"))));
        await client.FlushAsync();
        ((DuplexStream)client).CompleteWrite();
        var reader = new ReplyReader(client);
        var replies = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
            replies.Add(line);
        await run.WaitAsync(TimeSpan.FromSeconds(30));
        return (replies, fx.Messages.Count);
    }

    private static readonly string[] OneMessage =
        ["HELO client.test", "MAIL FROM:<a@remote.test>", "RCPT TO:<joe@hosted.test>", "DATA", "Subject: t", "", "hi", ".", "QUIT"];

    [Fact]
    public async Task A_refusal_at_connect_is_the_greeting_and_the_session_ends()
    {
        var (replies, queued) = await TalkAsync(p => p.Connect = PolicyDecision.Reject("554 5.7.1 No SMTP service here"), OneMessage);
        Assert.Equal(["554 5.7.1 No SMTP service here"], replies);
        Assert.Equal(0, queued);
    }

    [Fact]
    public async Task A_connect_check_the_account_store_cannot_answer_now_is_a_421_greeting_not_a_silent_close()
    {
        // docs/multi-node.md: while PostgreSQL is away every answer is temporary; the session used to end unanswered.
        var (replies, queued) = await TalkAsync(p => p.ConnectFails = new AccountStoreUnavailableException("PostgreSQL is stopped"), OneMessage);
        Assert.Equal(["421 4.3.0 Error: the account store is unavailable; try again later"], replies);
        Assert.Equal(0, queued);
    }

    [Fact]
    public async Task A_temp_fail_at_HELO_answers_HELO_and_the_session_goes_on()
    {
        var (replies, _) = await TalkAsync(p => p.Helo = PolicyDecision.TempFail("450 4.7.1 Try again later"), "HELO client.test", "NOOP", "QUIT");
        Assert.Equal("450 4.7.1 Try again later", replies[1]);
        Assert.StartsWith("250 ", replies[2]);
    }

    [Fact]
    public async Task Refusals_at_MAIL_RCPT_and_the_end_of_DATA_use_the_policys_reply()
    {
        var atMail = await TalkAsync(p => p.Mail = PolicyDecision.Reject("550 5.7.1 Not from you"), OneMessage);
        Assert.Contains("550 5.7.1 Not from you", atMail.Replies);
        var atRcpt = await TalkAsync(p => p.Rcpt = PolicyDecision.TempFail("451 4.7.1 Greylisted"), OneMessage);
        Assert.Contains("451 4.7.1 Greylisted", atRcpt.Replies);
        var atData = await TalkAsync(p => p.EndOfData = PolicyDecision.Reject("554 5.7.1 Spam", "spam"), OneMessage);
        Assert.Contains("554 5.7.1 Spam", atData.Replies);
        Assert.Equal((0, 0, 0), (atMail.Queued, atRcpt.Queued, atData.Queued));
    }

    [Fact]
    public async Task A_tarpit_holds_the_answer_then_goes_on_as_accepted()
    {
        var clock = Stopwatch.StartNew();
        var (replies, queued) = await TalkAsync(p => p.Rcpt = PolicyDecision.Tarpit(TimeSpan.FromMilliseconds(400)), OneMessage);
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(400), $"answered after {clock.Elapsed}");
        Assert.Contains("250 2.1.5 Ok", replies);
        Assert.Equal(1, queued);
    }
}
