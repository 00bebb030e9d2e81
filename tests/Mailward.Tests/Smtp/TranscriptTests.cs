// Runs every transcript in Smtp/Transcripts three ways (design.md): through the session over an
// in-memory pipe, the same with the client's bytes cut into 1-, 2-, 3-, 7- and 64-byte chunks
// (replies must not change), and over a real loopback socket through the listener
// (SmtpListenerTests).
namespace Mailward.Tests.Smtp;

public class TranscriptTests
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "Smtp", "Transcripts");

    public static TheoryData<string> Files()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Folder, "*.smtp").Order(StringComparer.Ordinal))
            data.Add(Path.GetFileName(f));
        return data;
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task In_memory_whole_and_chunked(string file)
    {
        var t = Transcript.Load(Path.Combine(Folder, file));
        foreach (var chunk in new[] { 0, 1, 2, 3, 7, 64 })
            await TranscriptRunner.RunInMemoryAsync(t, chunk);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public async Task Over_a_real_socket(string file)
    {
        var t = Transcript.Load(Path.Combine(Folder, file));
        await using var server = await ServerFixture.StartAsync(t.Fixtures);
        await using (var stream = await server.ConnectAsync(t.ClientAddress))
        {
            await TranscriptRunner.PlayAsync(t, stream, 0, "socket");
        }
        TranscriptRunner.Check(t, server.Messages);
    }
}
