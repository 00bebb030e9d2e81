// The POP3 state machine without a socket: pipelined commands cut into 1-, 3-, 7- and 64-byte
// chunks give the same answers; AUTH PLAIN with a continuation; an overlong line is refused and
// the session carries on; pipelined input behind STLS is discarded (RFC 2595 §4).
using System.Net;
using System.Text;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Protocols.Pop3;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Pop3;

public sealed class Pop3SessionTests : IDisposable
{
    private readonly MailwardRunner _m = new();

    public void Dispose() => _m.Dispose();

    private async Task<LoginService> SetUpAsync()
    {
        (await _m.Run("domain", "add", "hosted.test", "pw")).Ok();
        (await _m.Run("user", "add", "joe@hosted.test", "secret")).Ok();
        var maildir = MailStoreLayout.MaildirOf(_m.UserFolder("joe@hosted.test"));
        using var body = new MemoryStream("Subject: hi\r\n\r\n.dot\r\nend\r\n"u8.ToArray());
        MaildirWriter.Deliver(maildir, "1700000000.M1P1", "mail.test", "s@remote.test", "joe@hosted.test", body);
        return new LoginService(_m.Store, new Core.Passwords.PasswordHasher(new Core.Passwords.PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 }),
            new LoginOptions());
    }

    private async Task<string> TalkAsync(LoginService logins, string input, int chunk, Pop3SessionInfo? info = null)
    {
        var session = new Pop3Session(new Pop3Options { Hostname = "mail.test", FailedLoginDelay = TimeSpan.Zero }, logins, TestMailStores.Store(new MailStoreLayout(_m.MailStore, 100)), TestMailStores.Locks(new MailStoreLayout(_m.MailStore, 100)),
            NullLogger.Instance);
        return Encoding.UTF8.GetString(await DuplexStream.ConverseAsync(
            server => session.RunAsync(server, info ?? new Pop3SessionInfo("T", IPAddress.Loopback, IPAddress.Loopback), CancellationToken.None),
            Encoding.UTF8.GetBytes(input), chunk));
    }

    [Fact]
    public async Task Pipelined_commands_in_any_chunking_give_the_same_conversation()
    {
        var logins = await SetUpAsync();
        const string Input = "CAPA\r\nUSER joe@hosted.test\r\nPASS secret\r\nSTAT\r\nRETR 1\r\nDELE 1\r\nQUIT\r\n";
        var whole = await TalkAsync(logins, Input, Input.Length);
        Assert.Contains("+OK 1 messages\r\n", whole);
        Assert.Contains("\r\n..dot\r\nend\r\n.\r\n", whole);
        Assert.EndsWith("+OK bye; 1 deleted\r\n", whole);
        // The second run finds the mailbox empty; compare up to the login instead.
        foreach (var chunk in new[] { 1, 3, 7, 64 })
        {
            var again = await TalkAsync(logins, "CAPA\r\nUSER joe@hosted.test\r\nPASS secret\r\nSTAT\r\nQUIT\r\n", chunk);
            Assert.StartsWith(whole[..whole.IndexOf("+OK 1 messages", StringComparison.Ordinal)], again);
            Assert.Contains("+OK 0 messages\r\n+OK 0 0\r\n+OK bye; 0 deleted\r\n", again);
        }
    }

    [Fact]
    public async Task AUTH_PLAIN_with_a_continuation_an_overlong_line_and_a_wrong_password()
    {
        var logins = await SetUpAsync();
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes("\0joe@hosted.test\0secret"));
        var output = await TalkAsync(logins, $"{new string('A', 2000)}\r\nPASS x\r\nAUTH PLAIN\r\n{plain}\r\nQUIT\r\n", 64);
        var lines = output.Split("\r\n");
        Assert.Equal("-ERR line too long", lines[1]);
        Assert.Equal("-ERR USER first", lines[2]);
        Assert.Equal("+ ", lines[3]);
        Assert.Equal("+OK 1 messages", lines[4]);
        var wrong = await TalkAsync(logins, "USER joe@hosted.test\r\nPASS wrong\r\nQUIT\r\n", 7);
        Assert.Contains("-ERR [AUTH] invalid login or password\r\n", wrong);
    }

    [Fact]
    public async Task Commands_pipelined_behind_STLS_are_discarded()
    {
        var logins = await SetUpAsync();
        var (client, server) = DuplexStream.CreatePair();
        var session = new Pop3Session(new Pop3Options { Hostname = "mail.test" }, logins, TestMailStores.Store(new MailStoreLayout(_m.MailStore, 100)), TestMailStores.Locks(new MailStoreLayout(_m.MailStore, 100)),
            NullLogger.Instance);
        var info = new Pop3SessionInfo("T", IPAddress.Loopback, IPAddress.Loopback) { StartTls = TranscriptHarness.TestCertificate.Value.HandshakeAsync };
        var run = session.RunAsync(server, info, CancellationToken.None);
        var reader = new ReplyReader(client);
        Assert.StartsWith("+OK", await reader.ReadLineAsync());
        await client.WriteAsync("STLS\r\nUSER injected@hosted.test\r\n"u8.ToArray());
        Assert.Equal("+OK begin TLS negotiation", await reader.ReadLineAsync());
        using var tls = new System.Net.Security.SslStream(client, false, (_, cert, _, _) => cert?.Subject == "CN=mail.test");
        await tls.AuthenticateAsClientAsync("mail.test");
        var after = new ReplyReader(tls);
        await tls.WriteAsync("PASS secret\r\nQUIT\r\n"u8.ToArray());
        Assert.Equal("-ERR USER first", await after.ReadLineAsync()); // the injected USER was thrown away
        Assert.Equal("+OK bye", await after.ReadLineAsync());
        await run.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
