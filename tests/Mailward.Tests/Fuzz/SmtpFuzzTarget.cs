// The SMTP fuzz target: any bytes a client might send, through a whole session. It must end, throw
// nothing, answer only well-formed reply lines, and never queue a message whose DATA was not ended
// by CRLF.CRLF. The test below runs it on a seed corpus (Fuzz/smtp-seeds and the transcripts'
// client bytes) and on deterministic mutations of them; a coverage-guided fuzzer can call Run too.
using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Mailward.Protocols.Smtp;
using Mailward.Tests.Smtp;
using Mailward.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Mailward.Tests.Fuzz;

public static partial class SmtpFuzzTarget
{
    [GeneratedRegex(@"^[2-5][0-9]{2}[ -]")]
    private static partial Regex ReplyLine();

    /// <summary>Runs one input; throws when an invariant breaks.</summary>
    public static async Task RunAsync(SmtpFixture fx, byte[] input)
    {
        var session = new SmtpSession(fx.Options with { MaxBadCommands = 1000, CommandTimeout = TimeSpan.FromSeconds(5) }, fx.Policy, fx.Queue, NullLogger.Instance);
        var before = fx.Queue.Messages.Count;
        var text = Encoding.Latin1.GetString(await DuplexStream.ConverseAsync(
            server => session.RunAsync(server, new SmtpSessionInfo("F", IPAddress.Loopback, 1), CancellationToken.None), input));
        if (!text.EndsWith("\r\n", StringComparison.Ordinal))
            throw new InvalidOperationException($"reply stream does not end with CRLF: {text[^Math.Min(40, text.Length)..]}");
        foreach (var line in text[..^2].Split("\r\n"))
            if (!ReplyLine().IsMatch(line) && !line.StartsWith("250-", StringComparison.Ordinal))
                throw new InvalidOperationException($"malformed reply line: \"{line}\"");
        var queued = fx.Queue.Messages.Count - before;
        var acknowledged = Regex.Count(text, "250 2.0.0 Ok: queued as ");
        if (queued != acknowledged)
            throw new InvalidOperationException($"{queued} messages queued but {acknowledged} acknowledged");
    }
}

public class SmtpFuzzTests
{
    private static IEnumerable<byte[]> Seeds()
    {
        foreach (var f in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fuzz", "smtp-seeds")).Order(StringComparer.Ordinal))
            yield return File.ReadAllBytes(f);
        foreach (var f in Directory.GetFiles(TranscriptTests.Folder, "*.smtp").Order(StringComparer.Ordinal))
            yield return Transcript.Load(f).Steps.OfType<Transcript.Send>().SelectMany(s => s.Bytes).ToArray();
    }

    [Fact]
    public async Task Seed_corpus_and_mutations_keep_every_invariant()
    {
        await using var fx = new SmtpFixture(["user joe@hosted.test", "user ann@hosted.test", "alias info@hosted.test &joe@hosted.test"]);
        var rng = new Random(5321);
        var runs = 0;
        foreach (var seed in Seeds())
        {
            await SmtpFuzzTarget.RunAsync(fx, seed);
            runs++;
            for (var m = 0; m < 40; m++)
            {
                var input = Mutations.Mutate(seed, rng, "\r\n\0.<>@: \"\\"u8);
                try
                {
                    await SmtpFuzzTarget.RunAsync(fx, input);
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
