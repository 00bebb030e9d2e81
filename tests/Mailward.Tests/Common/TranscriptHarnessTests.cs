// The transcript harness itself must fail when a conversation or an "=" line does not hold, in
// every way it runs a file: a harness that passes everything would make every transcript worthless.
using System.Net;
using Mailward.Tests.Imap;
using Mailward.Tests.Pop3;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Common;

public class TranscriptHarnessTests
{
    /// <summary>A protocol's part with its files in a folder of the test's own.</summary>
    private sealed class InFolder(ITranscriptProtocol inner, string folder) : ITranscriptProtocol
    {
        public string Folder => folder; // absolute: Path.Combine keeps it
        public string Pattern => inner.Pattern;
        public TranscriptSession StartInMemory(Transcript t, string sessionId) => inner.StartInMemory(t, sessionId);
        public Task<ServerFixture> StartServerAsync(Transcript t) => inner.StartServerAsync(t);
        public IPEndPoint Listener(ServerFixture server) => inner.Listener(server);
        public Task CheckServerAsync(Transcript t, ServerFixture server) => inner.CheckServerAsync(t, server);
        public Task ActAsync(Transcript t, ServerFixture server, string action) => inner.ActAsync(t, server, action);
    }

    private const string Pop3Good = """
        @client 127.0.0.9
        @user joe@hosted.test
        @mail joe@hosted.test 1700000000.M1P1 Subject: one\r\n\r\n1\r\n
        S: +OK Mailward POP3 ready*
        C: USER joe@hosted.test
        C: PASS pw
        S: +OK send PASS
        S: +OK 1 messages
        C: QUIT
        S: +OK bye; 0 deleted
        S: <closed>
        = mailbox joe@hosted.test 1
        """;

    private static (InFolder Protocol, TempFolder Tmp) Write(ITranscriptProtocol inner, string name, string text)
    {
        var tmp = new TempFolder();
        File.WriteAllText(tmp.Combine(name), text);
        return (new InFolder(inner, tmp.Path), tmp);
    }

    [Fact]
    public async Task A_good_file_passes_both_ways()
    {
        var (p, tmp) = Write(new Pop3Transcripts(), "good.pop3", Pop3Good);
        using (tmp)
        {
            await TranscriptHarness.InMemoryAsync(p, "good.pop3");
            await TranscriptHarness.OverSocketAsync(p, "good.pop3");
        }
    }

    [Fact]
    public async Task A_wrong_reply_fails_in_memory_and_over_the_socket()
    {
        var (p, tmp) = Write(new Pop3Transcripts(), "bad.pop3", Pop3Good.Replace("+OK 1 messages", "+OK 7 messages", StringComparison.Ordinal));
        using (tmp)
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => TranscriptHarness.InMemoryAsync(p, "bad.pop3"));
            Assert.Contains("in-memory, chunk 0", e.Message, StringComparison.Ordinal);
            e = await Assert.ThrowsAnyAsync<Exception>(() => TranscriptHarness.OverSocketAsync(p, "bad.pop3"));
            Assert.Contains("(socket), step", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_wrong_mailbox_count_fails_in_memory_and_over_the_socket()
    {
        var (p, tmp) = Write(new ImapTranscripts(), "count.imap", """
            @user joe@hosted.test
            S: * OK*
            C: a LOGIN joe@hosted.test pw
            S: a OK*
            C: b LOGOUT
            S: * BYE*
            S: b OK*
            S: <closed>
            = mailbox joe@hosted.test 3
            """);
        using (tmp)
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => TranscriptHarness.InMemoryAsync(p, "count.imap"));
            Assert.Contains("but 0 messages are there", e.Message, StringComparison.Ordinal);
            e = await Assert.ThrowsAnyAsync<Exception>(() => TranscriptHarness.OverSocketAsync(p, "count.imap"));
            Assert.Contains("but 0 messages are there", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_queue_assertion_that_does_not_hold_fails()
    {
        var (p, tmp) = Write(new SmtpTranscripts(), "q.smtp", """
            S: 220 *
            C: QUIT
            S: 221 *
            S: <closed>
            = queued 1
            """);
        using (tmp)
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => TranscriptHarness.InMemoryAsync(p, "q.smtp"));
            Assert.Contains("but 0 queued", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unknown_setting_or_assertion_is_an_error_not_a_pass()
    {
        var (p, tmp) = Write(new Pop3Transcripts(), "set.pop3", "@set NoSuchSetting=1\n" + Pop3Good);
        using (tmp)
            await Assert.ThrowsAsync<FormatException>(() => TranscriptHarness.InMemoryAsync(p, "set.pop3"));
        (p, tmp) = Write(new Pop3Transcripts(), "assert.pop3", Pop3Good + "\n= nonsense 1");
        using (tmp)
            await Assert.ThrowsAsync<FormatException>(() => TranscriptHarness.InMemoryAsync(p, "assert.pop3"));
    }

    private const string TwoSessions = """
        @user joe@hosted.test
        S: * OK*
        C: a LOGIN joe@hosted.test pw
        S: a OK*
        C: b SELECT INBOX
        S: * 0 EXISTS
        S: * 0 RECENT
        S: * FLAGS*
        S: * OK [PERMANENTFLAGS*
        S: * OK [UIDVALIDITY*
        S: * OK [UIDNEXT 1]*
        S: b OK*
        C: c IDLE
        S: + idling
        ! mail joe@hosted.test 1700000000.M1P1 Subject: one\r\n\r\n1\r\n
        S: * 1 EXISTS
        2S: * OK*
        2C: d LOGIN joe@hosted.test pw
        2S: d OK*
        2C: e STATUS INBOX (MESSAGES)
        2S: * STATUS "INBOX" (MESSAGES 1)
        2S: e OK*
        """;

    [Fact]
    public async Task A_second_session_and_an_event_are_played_and_a_wrong_reply_in_the_second_fails()
    {
        var (p, tmp) = Write(new ImapTranscripts(), "two.imap", TwoSessions);
        using (tmp)
        {
            await TranscriptHarness.InMemoryAsync(p, "two.imap");
            await TranscriptHarness.OverSocketAsync(p, "two.imap");
        }
        (p, tmp) = Write(new ImapTranscripts(), "two-bad.imap", TwoSessions.Replace("(MESSAGES 1)", "(MESSAGES 2)", StringComparison.Ordinal));
        using (tmp)
        {
            var e = await Assert.ThrowsAnyAsync<Exception>(() => TranscriptHarness.InMemoryAsync(p, "two-bad.imap"));
            Assert.Contains("(session 2): expected", e.Message, StringComparison.Ordinal);
            e = await Assert.ThrowsAnyAsync<Exception>(() => TranscriptHarness.OverSocketAsync(p, "two-bad.imap"));
            Assert.Contains("(session 2): expected", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unknown_event_or_a_second_session_where_the_protocol_has_none_is_an_error()
    {
        var (p, tmp) = Write(new ImapTranscripts(), "event.imap", "@user joe@hosted.test\nS: * OK*\n! nonsense\nC: a LOGOUT\nS: * BYE*\nS: a OK*\n");
        using (tmp)
        {
            await Assert.ThrowsAsync<FormatException>(() => TranscriptHarness.InMemoryAsync(p, "event.imap"));
            await Assert.ThrowsAsync<FormatException>(() => TranscriptHarness.OverSocketAsync(p, "event.imap"));
        }
        (p, tmp) = Write(new Pop3Transcripts(), "two.pop3", Pop3Good + "\n2S: +OK*");
        using (tmp)
            await Assert.ThrowsAsync<FormatException>(() => TranscriptHarness.InMemoryAsync(p, "two.pop3"));
    }
}
