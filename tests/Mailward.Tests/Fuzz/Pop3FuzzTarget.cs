// The POP3 fuzz target: any bytes a client might send, through a whole session on a real mailbox.
// It must end, throw nothing, open with +OK and end its output with CRLF, delete exactly what a
// "+OK bye; N deleted" reply says (nothing without one), and leave no mailbox lock behind. The test
// runs it on the POP3 transcripts' client bytes and deterministic mutations of them.
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Auth;
using Mailward.Core.MailStore;
using Mailward.Core.Passwords;
using Mailward.Protocols.Pop3;
using Mailward.Tests.Pop3;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Fuzz;

public sealed partial class Pop3FuzzTarget : IDisposable
{
    private const int Messages = 3;
    private readonly TempFolder _tmp = new();
    private readonly SqliteAccountStore _store;
    private readonly LoginService _logins;
    private readonly Core.MailStore.IMailStore _mail;
    private readonly Core.MailStore.Locks.IMailboxLocks _locks;
    private readonly string _maildir;

    [GeneratedRegex(@"^\+OK bye; (\d+) deleted\r$", RegexOptions.Multiline)]
    private static partial Regex UpdateReply();

    public Pop3FuzzTarget()
    {
        _store = new SqliteAccountStore($"Data Source={_tmp.Combine("accounts.db")}");
        var layout = new MailStoreLayout(_tmp.Combine("domains"));
        var hasher = new PasswordHasher(new PasswordOptions { Argon2MemoryKiB = 64, Argon2Iterations = 1 });
        var admin = new AccountAdmin(_store, layout, hasher);
        SmtpFixture.Apply(admin, _store, ["user joe@hosted.test", "aliasdomain alias.test hosted.test"]);
        _maildir = MailStoreLayout.MaildirOf(layout.Resolve(_store.FindUser("joe", "hosted.test")!.Directory));
        _mail = Support.TestMailStores.Store(layout);
        _locks = Support.TestMailStores.Locks(layout);
        _logins = new LoginService(_store, hasher, new LoginOptions { MaxFailuresPerClient = int.MaxValue });
        Refill();
    }

    private int Count() => new[] { "new", "cur" }.Sum(d => Directory.GetFiles(Path.Combine(_maildir, d)).Length);

    /// <summary>Back to the same three messages (one with dot-led lines) after a run deleted some.</summary>
    private void Refill()
    {
        foreach (var d in new[] { "new", "cur" })
            foreach (var f in Directory.GetFiles(Path.Combine(_maildir, d)))
                File.Delete(f);
        for (var i = 0; i < Messages; i++)
        {
            using var body = new MemoryStream(Encoding.ASCII.GetBytes($"Subject: {i}\r\n\r\n.dot\r\nline {i}\r\n.\r\n"));
            MaildirWriter.Deliver(_maildir, $"1700000000.M{i}P1", "mail.test", "s@remote.test", "joe@hosted.test", body);
        }
    }

    /// <summary>Runs one input; throws when an invariant breaks.</summary>
    public async Task RunAsync(byte[] input)
    {
        if (Count() != Messages)
            Refill();
        var options = new Pop3Options { Hostname = "mail.test", FailedLoginDelay = TimeSpan.Zero, MaxBadCommands = 1000, CommandTimeout = TimeSpan.FromSeconds(5) };
        var session = new Pop3Session(options, _logins, _mail, _locks, NullLogger.Instance);
        var text = Encoding.Latin1.GetString(await DuplexStream.ConverseAsync(
            server => session.RunAsync(server, new Pop3SessionInfo("F", IPAddress.Loopback, IPAddress.Loopback), CancellationToken.None), input));
        if (!text.StartsWith("+OK ", StringComparison.Ordinal) || !text.EndsWith("\r\n", StringComparison.Ordinal))
            throw new InvalidOperationException($"output does not open with +OK and end with CRLF: {text[..Math.Min(40, text.Length)]}...{text[^Math.Min(40, text.Length)..]}");
        var update = UpdateReply().Matches(text);
        var deleted = update.Count == 0 ? 0 : int.Parse(update[^1].Groups[1].Value);
        if (Count() != Messages - deleted)
            throw new InvalidOperationException($"{Messages - Count()} messages gone, the session said {deleted}");
        if (File.Exists(Path.Combine(_maildir, "mailward-pop3.lock")))
            throw new InvalidOperationException("the session left its mailbox lock behind");
    }

    public void Dispose()
    {
        _store.Dispose();
        _tmp.Dispose();
    }
}

public class Pop3FuzzTests
{
    [Fact]
    public async Task Transcripts_and_their_mutations_keep_every_invariant()
    {
        using var target = new Pop3FuzzTarget();
        var rng = new Random(1939);
        var runs = 0;
        foreach (var file in Directory.GetFiles(Pop3TranscriptTests.Folder, "*.pop3").Order(StringComparer.Ordinal))
        {
            var seed = Transcript.Load(file).Steps.OfType<Transcript.Send>().SelectMany(s => s.Bytes).ToArray();
            await target.RunAsync(seed);
            runs++;
            for (var m = 0; m < 40; m++)
            {
                var input = Mutations.Mutate(seed, rng, "\r\n\0. %@*=+-"u8);
                try
                {
                    await target.RunAsync(input);
                }
                catch (Exception e)
                {
                    throw new InvalidOperationException($"input {Convert.ToBase64String(input)} broke an invariant: {e.Message}", e);
                }
                runs++;
            }
        }
        Assert.True(runs > 500, $"{runs} runs");
    }
}
