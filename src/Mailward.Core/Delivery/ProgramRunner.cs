// Runs a |program delivery line as qmail-local does (qmail-command(8)): /bin/sh -c with the
// message on standard input (LF line ends) and SENDER, RECIPIENT, LOCAL, HOST, EXT, DTLINE and
// RPLINE in the environment, as the service user, under a timeout. Exit codes: 0 delivered, 99
// delivered and stop processing further lines, 100 (and qmail's 64, 65, 70, 76, 77, 78, 112)
// permanent failure, anything else (111) temporary.
using System.Diagnostics;
using System.Text;

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

    public static async Task<(ProgramOutcome Outcome, string Detail)> RunAsync(string command, ProgramContext context, Stream body,
        TimeSpan timeout, CancellationToken ct)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
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
            await Task.WhenAll(readOut, readErr);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            if (ct.IsCancellationRequested)
                throw;
            return (ProgramOutcome.Temporary, $"program timed out after {timeout.TotalSeconds:0} s and was killed: {command}");
        }
        var text = Squeeze(output.ToString());
        var code = process.ExitCode;
        return code switch
        {
            0 => (ProgramOutcome.Delivered, text.Length > 0 ? text : $"program ran: {command}"),
            99 => (ProgramOutcome.DeliveredStop, text.Length > 0 ? text : $"program ran and ended processing: {command}"),
            _ when PermanentCodes.Contains(code) => (ProgramOutcome.Permanent, text.Length > 0 ? text : $"program failed permanently (exit {code})"),
            _ => (ProgramOutcome.Temporary, text.Length > 0 ? text : $"program failed temporarily (exit {code})"),
        };
    }

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
