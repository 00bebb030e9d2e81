// POP3 over real sockets: the seeds' telnet check (USER, PASS, LIST, RETR, QUIT), every command and
// its errors, byte-stuffing, LIST == RETR octets, UIDL stability, deletion only at QUIT, a dropped
// connection, IN-USE, login forms and flags, the failed-login delay that blocks no one else,
// throttling, STLS and 995 with MailKit's Pop3Client, and Python's poplib.
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using MailKit.Net.Pop3;
using MailKit.Security;
using Mailward.Core.Accounts;
using Mailward.Core.MailStore;
using Mailward.Tests.Delivery;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;

namespace Mailward.Tests.Pop3;

public class Pop3Tests
{
    /// <summary>Puts a message straight into a user's Maildir, as delivery would (LF line ends, ,S= and ,W=).</summary>
    private static string Put(ServerFixture server, string address, string message, int n)
    {
        var maildir = DeliveryTestMail.Maildir(server, address);
        using var body = new MemoryStream(Encoding.UTF8.GetBytes(message.Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal)));
        return MaildirWriter.Deliver(maildir, $"{1700000000 + n}.M{n:D4}P1", "mail.test", "s@remote.test", address, body);
    }

    /// <summary>A line-level POP3 client, as telnet would be.</summary>
    private sealed class Raw(TcpClient tcp) : IDisposable
    {
        private readonly NetworkStream _s = tcp.GetStream();
        private readonly MemoryStream _pending = new();

        public static async Task<Raw> ConnectAsync(System.Net.IPEndPoint to, string from = "127.0.0.1")
        {
            var tcp = new TcpClient(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(from), 0));
            await tcp.ConnectAsync(to);
            var raw = new Raw(tcp);
            Assert.StartsWith("+OK", await raw.LineAsync());
            return raw;
        }

        public async Task<string> LineAsync()
        {
            var line = new List<byte>();
            var one = new byte[1];
            while (true)
            {
                if (await _s.ReadAsync(one) == 0)
                    return line.Count == 0 ? "<closed>" : Encoding.UTF8.GetString([.. line]);
                line.Add(one[0]);
                if (one[0] == '\n')
                    return Encoding.UTF8.GetString([.. line]).TrimEnd('\r', '\n');
            }
        }

        public async Task<string> SayAsync(string command)
        {
            await _s.WriteAsync(Encoding.UTF8.GetBytes(command + "\r\n"));
            return await LineAsync();
        }

        /// <summary>A multi-line body up to the lone dot: the raw bytes as sent (still stuffed).</summary>
        public async Task<byte[]> BlockAsync()
        {
            var all = new MemoryStream();
            while (true)
            {
                var line = await LineAsync();
                if (line == ".")
                    return all.ToArray();
                all.Write(Encoding.UTF8.GetBytes(line + "\r\n"));
            }
        }

        public void Dispose()
        {
            _pending.Dispose();
            tcp.Dispose();
        }
    }

    [Fact]
    public async Task The_seeds_telnet_check_and_every_transaction_command()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        Put(server, "joe@hosted.test", "Subject: one\n\nfirst\n.leading dot\n..two dots\n", 1);
        Put(server, "joe@hosted.test", "Subject: two\n\nb1\nb2\nb3\n", 2);
        using var c = await Raw.ConnectAsync(server.Pop3);
        Assert.StartsWith("-ERR", await c.SayAsync("STAT")); // not logged in
        Assert.StartsWith("+OK", await c.SayAsync("USER joe@hosted.test"));
        Assert.Equal("+OK 2 messages", await c.SayAsync("PASS pw"));
        var stat = (await c.SayAsync("STAT")).Split(' ');
        Assert.Equal("2", stat[1]);
        Assert.Equal("+OK scan listing follows", await c.SayAsync("LIST"));
        var list = Encoding.ASCII.GetString(await c.BlockAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, list.Length);
        var size1 = long.Parse(list[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(long.Parse(stat[2], System.Globalization.CultureInfo.InvariantCulture), size1 + long.Parse(list[1].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal($"+OK {size1} octets", await c.SayAsync("RETR 1"));
        var sent = await c.BlockAsync();
        var text = Encoding.UTF8.GetString(sent);
        Assert.StartsWith("Return-Path: <s@remote.test>\r\nDelivered-To: joe@hosted.test\r\nSubject: one\r\n", text);
        Assert.Contains("\r\n..leading dot\r\n...two dots\r\n", text); // byte-stuffed (RFC 1939 §3)
        // LIST counts the message as the client keeps it: CRLF lines, without the two transparency dots.
        const int StuffedLines = 2;
        Assert.Equal(size1, sent.Length - StuffedLines);

        Assert.StartsWith("+OK", await c.SayAsync("TOP 2 1"));
        Assert.Equal("Return-Path: <s@remote.test>\r\nDelivered-To: joe@hosted.test\r\nSubject: two\r\n\r\nb1\r\n", Encoding.UTF8.GetString(await c.BlockAsync()));
        Assert.Equal("+OK unique-id listing follows", await c.SayAsync("UIDL"));
        var uidl = Encoding.ASCII.GetString(await c.BlockAsync());
        Assert.Contains("1 1700000001.M0001P1.mail.test", uidl);
        Assert.StartsWith("+OK 2 1700000002.M0002P1.mail.test,S=", await c.SayAsync("UIDL 2"));
        Assert.StartsWith("-ERR", await c.SayAsync("RETR 3"));
        Assert.StartsWith("-ERR", await c.SayAsync("TOP 1"));
        Assert.Equal("+OK message 1 deleted", await c.SayAsync("DELE 1"));
        Assert.StartsWith("-ERR", await c.SayAsync("RETR 1")); // marked deleted
        Assert.StartsWith("-ERR", await c.SayAsync("LIST 1"));
        Assert.StartsWith("+OK 1 ", await c.SayAsync("STAT"));
        Assert.Equal("+OK 2 messages", await c.SayAsync("RSET"));
        Assert.Equal("+OK", await c.SayAsync("NOOP"));
        Assert.Equal("+OK message 2 deleted", await c.SayAsync("DELE 2"));
        Assert.Equal("+OK bye; 1 deleted", await c.SayAsync("QUIT"));
        Assert.Equal("<closed>", await c.LineAsync());

        using var again = await Raw.ConnectAsync(server.Pop3);
        await again.SayAsync("USER joe@hosted.test");
        Assert.Equal("+OK 1 messages", await again.SayAsync("PASS pw"));
        Assert.StartsWith("+OK 1 1700000001.M0001P1.mail.test,S=", await again.SayAsync("UIDL 1")); // stable across sessions
    }

    [Fact]
    public async Task A_dropped_connection_deletes_nothing_and_a_second_session_gets_IN_USE()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        Put(server, "joe@hosted.test", "Subject: keep\n\nx\n", 1);
        using (var c = await Raw.ConnectAsync(server.Pop3))
        {
            await c.SayAsync("USER joe@hosted.test");
            Assert.Equal("+OK 1 messages", await c.SayAsync("PASS pw"));
            using var second = await Raw.ConnectAsync(server.Pop3, "127.0.0.9");
            await second.SayAsync("USER joe@hosted.test");
            Assert.Equal("-ERR [IN-USE] the mailbox is open in another session", await second.SayAsync("PASS pw"));
            Assert.StartsWith("+OK", await c.SayAsync("DELE 1"));
        } // dropped without QUIT
        await Task.Delay(300);
        using var d = await Raw.ConnectAsync(server.Pop3);
        await d.SayAsync("USER joe@hosted.test");
        Assert.Equal("+OK 1 messages", await d.SayAsync("PASS pw"));
    }

    [Fact]
    public async Task Login_forms_flags_and_a_wrong_password_delayed_without_blocking_others()
    {
        await using var server = await ServerFixture.StartAsync(
            ["user joe@hosted.test", "user ann@hosted.test", "aliasdomain alias.test hosted.test", "user nopop@hosted.test", "domain other.test", "user bob@other.test"],
            "--Pop3:DefaultDomain=hosted.test", "--Pop3:FailedLoginDelayMilliseconds=1500");
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        store.UpdateUser(store.FindUser("nopop", "hosted.test")! with { Flags = UserFlags.NoPop });
        store.AddIpMap(new IpMapEntry("127.0.0.1", "other.test"));
        store.Dispose();
        await Task.Delay(1100);

        async Task<string> Login(string user, string pass = "pw", string from = "127.0.0.1")
        {
            using var c = await Raw.ConnectAsync(server.Pop3, from);
            await c.SayAsync("USER " + user);
            return await c.SayAsync("PASS " + pass);
        }
        Assert.StartsWith("+OK", await Login("joe%hosted.test"));
        Assert.StartsWith("+OK", await Login("ann@alias.test"));
        Assert.StartsWith("+OK", await Login("bob")); // bare name: the server's address 127.0.0.1 maps to other.test (vipmap)
        Assert.StartsWith("-ERR [AUTH]", await Login("joe")); // the map wins over the default domain
        var unmap = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        unmap.DeleteIpMap("127.0.0.1", null);
        unmap.Dispose();
        await Task.Delay(1100);
        Assert.StartsWith("+OK", await Login("joe")); // no map: Pop3:DefaultDomain
        Assert.Equal("-ERR [SYS/PERM] POP3 access is disabled for this account", await Login("nopop@hosted.test"));

        var wrong = Stopwatch.StartNew();
        var failing = Login("joe@hosted.test", "nope", "127.0.0.3");
        var other = Stopwatch.StartNew();
        Assert.StartsWith("+OK", await Login("ann@hosted.test", "pw", "127.0.0.4"));
        other.Stop();
        Assert.Equal("-ERR [AUTH] invalid login or password", await failing);
        wrong.Stop();
        Assert.True(wrong.ElapsedMilliseconds >= 1400, $"the failure came after {wrong.ElapsedMilliseconds} ms");
        Assert.True(other.ElapsedMilliseconds < 1400, $"another client waited {other.ElapsedMilliseconds} ms");
        Assert.Contains(server.Log, l => l.Contains("login client=127.0.0.3 user=joe@hosted.test result=bad-credentials", StringComparison.Ordinal));
        Assert.DoesNotContain(server.Log, l => l.Contains("nope", StringComparison.Ordinal)); // never the password

        var again = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        var joe = again.FindUser("joe", "hosted.test")!;
        again.Dispose();
        Assert.Equal("pop3", joe.LastLogin!.Service);
    }

    [Fact]
    public async Task Repeated_failures_from_one_address_are_throttled()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"],
            "--Pop3:FailedLoginDelayMilliseconds=0", "--Pop3:MaxLoginFailuresPerClient=3");
        using var c = await Raw.ConnectAsync(server.Pop3, "127.0.0.7");
        for (var i = 0; i < 3; i++)
        {
            await c.SayAsync("USER joe@hosted.test");
            Assert.Equal("-ERR [AUTH] invalid login or password", await c.SayAsync("PASS bad" + i));
        }
        await c.SayAsync("USER joe@hosted.test");
        Assert.StartsWith("-ERR [AUTH] too many failed logins", await c.SayAsync("PASS pw"));
        using var elsewhere = await Raw.ConnectAsync(server.Pop3, "127.0.0.8");
        await elsewhere.SayAsync("USER joe@hosted.test");
        Assert.StartsWith("+OK", await elsewhere.SayAsync("PASS pw"));
    }

    [Fact]
    public async Task MailKit_fetches_and_deletes_over_STLS_and_over_995_and_plaintext_is_refused_when_set_to_never()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Pop3:AllowPlaintextAuth=never");
        Put(server, "joe@hosted.test", "Subject: m1\n\nGr\u00fc\u00dfe, " + new string('x', 3000) + "\n", 1);
        Put(server, "joe@hosted.test", "Subject: m2\n\nsecond\n", 2);

        using (var plain = await Raw.ConnectAsync(server.Pop3))
        {
            Assert.Equal("-ERR [AUTH] plain text logins need TLS first (STLS)", await plain.SayAsync("USER joe@hosted.test"));
            Assert.Equal("+OK capability list follows", await plain.SayAsync("CAPA"));
            var caps = Encoding.ASCII.GetString(await plain.BlockAsync());
            Assert.Contains("STLS", caps);
            Assert.DoesNotContain("USER", caps);
        }

        using (var client = new Pop3Client { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000 })
        {
            await client.ConnectAsync(server.Pop3.Address.ToString(), server.Pop3.Port, SecureSocketOptions.StartTls);
            await client.AuthenticateAsync("joe@hosted.test", "pw");
            Assert.Equal(2, client.Count);
            var sizes = await client.GetMessageSizesAsync();
            var first = await client.GetMessageAsync(0);
            Assert.Equal("m1", first.Subject);
            Assert.StartsWith("Gr\u00fc\u00dfe", first.TextBody);
            using (var raw = await client.GetStreamAsync(0))
                Assert.Equal(sizes[0], raw.Length); // LIST == RETR octets, 8-bit and a 3,000-byte line included
            await client.DeleteMessageAsync(0);
            await client.DisconnectAsync(true);
        }
        using (var client = new Pop3Client { ServerCertificateValidationCallback = (_, cert, _, _) => cert?.Subject == "CN=mail.test", Timeout = 15_000 })
        {
            await client.ConnectAsync(server.Pop3s.Address.ToString(), server.Pop3s.Port, SecureSocketOptions.SslOnConnect);
            await client.AuthenticateAsync("joe@hosted.test", "pw"); // MailKit picks SASL PLAIN
            Assert.Equal(1, client.Count);
            Assert.Equal("m2", (await client.GetMessageAsync(0)).Subject);
            await client.DisconnectAsync(true);
        }
    }

    [Fact]
    public async Task Pythons_poplib_retrieves_and_deletes()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Delivery:Enabled=true");
        await DeliveryTestMail.SendAsync(server, "joe@hosted.test", "via smtp", ".dot line\r\nend");
        await DeliveryTestMail.SettleAsync(server);
        var script = $$"""
            import poplib
            p = poplib.POP3('127.0.0.1', {{server.Pop3.Port}}, timeout=15)
            p.user('joe@hosted.test'); p.pass_('pw')
            count, total = p.stat()
            listed = int(p.list(1).split()[2])
            resp, lines, octets = p.retr(1)
            assert octets == listed, (octets, listed)
            assert b'.dot line' in lines, lines
            assert p.uidl(1).split()[2].startswith(b'1')
            p.dele(1); p.quit()
            q = poplib.POP3('127.0.0.1', {{server.Pop3.Port}}, timeout=15)
            q.user('joe@hosted.test'); q.pass_('pw')
            print(count, q.stat()[0]); q.quit()
            """;
        Assert.Equal("1 0", await ExternalProgram.PythonAsync(script));
    }

    [Fact]
    public async Task A_POP3_login_lets_that_address_relay_until_the_grant_expires()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test", "user norelay@hosted.test"], clock, "--Relay:RoamingMinutes=180");
        var store = new SqliteAccountStore($"Data Source={Path.Combine(server.DataPath, "accounts.db")}");
        store.UpdateUser(store.FindUser("norelay", "hosted.test")! with { Flags = UserFlags.NoRelay });
        store.Dispose();
        clock.Advance(TimeSpan.FromSeconds(2)); // the server's caches see the change

        async Task<string> RcptFrom(string from)
        {
            await using var tcp = await server.ConnectAsync(from);
            var r = new ReplyReader(tcp);
            await r.ReadLineAsync();
            await tcp.WriteAsync("HELO roamer.test\r\nMAIL FROM:<joe@hosted.test>\r\nRCPT TO:<friend@remote.test>\r\nQUIT\r\n"u8.ToArray());
            await r.ReadLineAsync();
            await r.ReadLineAsync();
            return await r.ReadLineAsync() ?? "";
        }
        async Task LoginFrom(string user, string from)
        {
            using var c = await Raw.ConnectAsync(server.Pop3, from);
            await c.SayAsync("USER " + user);
            Assert.StartsWith("+OK", await c.SayAsync("PASS pw"));
            await c.SayAsync("QUIT");
        }

        Assert.StartsWith("554 5.7.1", await RcptFrom("127.0.0.9"));
        await LoginFrom("norelay@hosted.test", "127.0.0.9"); // the no-relay flag: no grant
        Assert.StartsWith("554 5.7.1", await RcptFrom("127.0.0.9"));
        await LoginFrom("joe@hosted.test", "127.0.0.9");
        Assert.StartsWith("250", await RcptFrom("127.0.0.9"));
        Assert.StartsWith("554 5.7.1", await RcptFrom("127.0.0.10")); // only the address that logged in

        using var runner = new MailwardRunner();
        var list = (await runner.RunWith("", null, "--data", server.DataPath, "relay", "list")).Ok().Out;
        Assert.Contains("roaming 127.0.0.9 until ", list);
        Assert.Contains("joe@hosted.test", list);

        clock.Advance(TimeSpan.FromMinutes(179));
        Assert.StartsWith("250", await RcptFrom("127.0.0.9"));
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.StartsWith("554 5.7.1", await RcptFrom("127.0.0.9")); // expired after Relay:RoamingMinutes (180)
    }

    [FactWhenInstalled("fetchmail")]
    public async Task Fetchmail_from_Debian_fetches_and_deletes()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        Put(server, "joe@hosted.test", "Subject: for fetchmail\n\n.dot line\nbody\n", 1);
        Put(server, "joe@hosted.test", "Subject: second\n\nmore\n", 2);
        var dir = Path.Combine(Path.GetTempPath(), "mailward-tests", "fetchmail-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(dir);
        var output = Path.Combine(dir, "fetched.mbox");
        var rc = Path.Combine(dir, "fetchmailrc");
        await File.WriteAllTextAsync(rc, $"""
            set no syslog
            poll 127.0.0.1 protocol pop3 port {server.Pop3.Port} auth password timeout 20:
              user "joe@hosted.test" password "pw" is "joe" here
              sslproto '' no keep
              mda "/bin/sh -c 'cat >> {output}'"
            """);
        File.SetUnixFileMode(rc, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var psi = new ProcessStartInfo("fetchmail", ["--fetchmailrc", rc, "--idfile", Path.Combine(dir, "ids"), "--nodetach", "-v"])
        { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["HOME"] = dir;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        var log = await stdout + await stderr;
        Assert.True(p.ExitCode == 0, log);
        var mbox = await File.ReadAllTextAsync(output);
        Assert.Contains("Subject: for fetchmail", mbox);
        Assert.Contains("\n.dot line\n", mbox); // unstuffed again by the client
        Assert.Contains("Subject: second", mbox);
        Assert.Empty(Directory.GetFiles(Path.Combine(DeliveryTestMail.Maildir(server, "joe@hosted.test"), "cur")));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task A_legacy_hash_is_upgraded_at_login_a_password_change_beats_the_cache_and_deletions_update_maildirsize()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"]);
        var db = $"Data Source={Path.Combine(server.DataPath, "accounts.db")}";
        var store = new SqliteAccountStore(db);
        store.UpdateUser(store.FindUser("joe", "hosted.test")! with { PasswordHash = "DmIMm9e5Hc8ic", Quota = new Quota(1_000_000, 0) }); // DES crypt of "testpw"
        store.Dispose();
        await Task.Delay(1100);
        Put(server, "joe@hosted.test", "Subject: a\n\n" + new string('a', 500) + "\n", 1);
        Put(server, "joe@hosted.test", "Subject: b\n\nb\n", 2);
        var maildir = DeliveryTestMail.Maildir(server, "joe@hosted.test");
        MaildirQuota.Recalculate(maildir, new Quota(1_000_000, 0));

        async Task<string> Session(string password, params string[] commands)
        {
            using var c = await Raw.ConnectAsync(server.Pop3);
            await c.SayAsync("USER joe@hosted.test");
            var answer = await c.SayAsync("PASS " + password);
            foreach (var command in commands)
                await c.SayAsync(command);
            return answer;
        }
        Assert.StartsWith("+OK", await Session("testpw"));
        var check = new SqliteAccountStore(db);
        Assert.StartsWith("$argon2id$", check.FindUser("joe", "hosted.test")!.PasswordHash);
        Assert.StartsWith("+OK", await Session("testpw")); // now from the verification cache
        Assert.Contains(server.Log, l => l.Contains("user=joe@hosted.test result=ok cached=True", StringComparison.Ordinal));

        using (var runner = new MailwardRunner())
            (await runner.RunWith("", null, "--data", server.DataPath, "user", "passwd", "joe@hosted.test", "newpw")).Ok();
        await Task.Delay(1100);
        Assert.StartsWith("-ERR [AUTH]", await Session("testpw")); // the cached success no longer counts
        Assert.StartsWith("+OK", await Session("newpw", "DELE 1", "QUIT"));
        check.Dispose();

        var usage = MaildirQuota.Usage(maildir, new Quota(1_000_000, 0));
        Assert.Equal(1, usage.Messages); // the deletion at QUIT was recorded in maildirsize
        Assert.Equal(MaildirUsage.Measure(maildir).Bytes, usage.Bytes);
    }

    [Fact]
    public async Task A_stale_lock_left_by_a_vanished_session_is_taken_over()
    {
        await using var server = await ServerFixture.StartAsync(["user joe@hosted.test"], "--Pop3:LockStaleSeconds=60");
        Put(server, "joe@hosted.test", "Subject: a\n\nx\n", 1);
        var lockFile = Path.Combine(DeliveryTestMail.Maildir(server, "joe@hosted.test"), "mailward-pop3.lock");
        await File.WriteAllTextAsync(lockFile, "othernode 1234\n");
        async Task<string> Login()
        {
            using var c = await Raw.ConnectAsync(server.Pop3);
            await c.SayAsync("USER joe@hosted.test");
            return await c.SayAsync("PASS pw");
        }
        Assert.StartsWith("-ERR [IN-USE]", await Login()); // a fresh lock of another node is respected
        // 60 s asked for, but an idle session may hold its lock for Pop3:CommandTimeoutSeconds (600)
        // without refreshing it: the stale age is never below that plus a minute.
        File.SetLastWriteTimeUtc(lockFile, DateTime.UtcNow.AddMinutes(-2));
        Assert.StartsWith("-ERR [IN-USE]", await Login());
        File.SetLastWriteTimeUtc(lockFile, DateTime.UtcNow.AddMinutes(-12));
        Assert.StartsWith("+OK 1 messages", await Login());
    }
}
