// Runs a |program delivery line as qmail-local does (qmail-command(8)): /bin/sh -c with the
// message on standard input (LF line ends) and SENDER, RECIPIENT, LOCAL, HOST, EXT, DTLINE and
// RPLINE in the environment, as the service user, under a timeout. Exit codes: 0 delivered, 99
// delivered and stop processing further lines, 100 (and qmail's 64, 65, 70, 76, 77, 78, 112)
// permanent failure, anything else (111) temporary.
// The program gets PATH and those variables only (never the server's MAILWARD_* settings), runs
// in a session and process group of its own (setsid) that is killed whole at the deadline, also
// when the shell has ended and a child of it still holds the output; and its command line, which
// is the domain's business, never appears in a result that may reach a DSN.
using System.Diagnostics;
using System.Text;
using Mailward.Core.Posix;

namespace Mailward.Core.Delivery;

public sealed record ProgramContext(string Sender, string Recipient, string Local, string Host, string Extension);

public enum ProgramOutcome
{
    Delivered,
    DeliveredStop,
    Permanent,
    Temporary,
}

public static class ProgramRunner
{
    private static readonly int[] PermanentCodes = [64, 65, 70, 76, 77, 78, 100, 112];
    private const int MaxOutput = 1000;
    private static readonly string[] SetsidPaths = ["/usr/bin/setsid", "/bin/setsid"];

    public static async Task<(ProgramOutcome Outcome, string Detail)> RunAsync(string command, ProgramContext context, Stream body,
        TimeSpan timeout, CancellationToken ct)
    {
        var setsid = SetsidPaths.FirstOrDefault(File.Exists);
        var start = new ProcessStartInfo(setsid ?? "/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (setsid is not null)
            start.ArgumentList.Add("/bin/sh");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        var path = Environment.GetEnvironmentVariable("PATH") is { Length: > 0 } p ? p : "/usr/local/bin:/usr/bin:/bin";
        start.Environment.Clear();
        start.Environment["PATH"] = path;
        start.Environment["SENDER"] = context.Sender;
        start.Environment["NEWSENDER"] = context.Sender;
        start.Environment["RECIPIENT"] = context.Recipient;
        start.Environment["LOCAL"] = context.Local;
        start.Environment["HOST"] = context.Host;
        start.Environment["EXT"] = context.Extension;
        start.Environment["DTLINE"] = $"Delivered-To: {context.Recipient}\n";
        start.Environment["RPLINE"] = $"Return-Path: <{context.Sender}>\n";
        using var process = Process.Start(start) ?? throw new IOException("could not start /bin/sh");
        var output = new StringBuilder();
        var readOut = ReadBoundedAsync(process.StandardOutput, output);
        var readErr = ReadBoundedAsync(process.StandardError, output);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await FeedAsync(process.StandardInput.BaseStream, body, limit.Token);
            await process.WaitForExitAsync(limit.Token);
            // A child left running in the background may hold the output open: the deadline covers it too.
            await Task.WhenAll(readOut, readErr).WaitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            var shellEnded = process.HasExited; // before the kill: did the program itself end in time?
            // setsid made the shell the leader of a new process group: one signal ends every descendant.
            if (setsid is not null)
                Libc.KillGroup(process.Id, Libc.SigKill);
            if (!shellEnded)
                process.Kill(entireProcessTree: true);
            if (ct.IsCancellationRequested)
                throw;
            if (!shellEnded)
                return (ProgramOutcome.Temporary, $"program timed out after {timeout.TotalSeconds:0} s and was killed");
            try
            {
                await Task.WhenAll(readOut, readErr).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None);
            }
            catch (TimeoutException)
            {
                // a descendant outside the group still holds the output; what was read is enough
            }
        }
        return Outcome(process.ExitCode, Squeeze(output.ToString()));
    }

    private static (ProgramOutcome Outcome, string Detail) Outcome(int code, string text) => code switch
    {
        0 => (ProgramOutcome.Delivered, text.Length > 0 ? text : "program ran"),
        99 => (ProgramOutcome.DeliveredStop, text.Length > 0 ? text : "program ran and ended processing"),
        _ when PermanentCodes.Contains(code) => (ProgramOutcome.Permanent, text.Length > 0 ? text : $"program failed permanently (exit {code})"),
        _ => (ProgramOutcome.Temporary, text.Length > 0 ? text : $"program failed temporarily (exit {code})"),
    };

    /// <summary>The message with LF line ends; a program that stops reading early is not an error (qmail ignores EPIPE).</summary>
    private static async Task FeedAsync(Stream stdin, Stream body, CancellationToken ct)
    {
        var input = new byte[1 << 16];
        var output = new byte[1 << 16];
        try
        {
            int n;
            while ((n = await body.ReadAsync(input, ct)) > 0)
            {
                var o = 0;
                for (var i = 0; i < n; i++)
                    if (!(input[i] == (byte)'\r' && (i + 1 < n ? input[i + 1] == (byte)'\n' : true)))
                        output[o++] = input[i];
                await stdin.WriteAsync(output.AsMemory(0, o), ct);
            }
        }
        catch (IOException)
        {
        }
        finally
        {
            try
            {
                stdin.Close();
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task ReadBoundedAsync(StreamReader reader, StringBuilder into)
    {
        var buffer = new char[4096];
        int n;
        while ((n = await reader.ReadAsync(buffer)) > 0)
            lock (into)
                if (into.Length < MaxOutput)
                    into.Append(buffer, 0, Math.Min(n, MaxOutput - into.Length));
    }

    private static string Squeeze(string s) => string.Join(" ", s.Split(['\n', '\r'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
