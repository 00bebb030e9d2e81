// `mailward sendmail` and a link named sendmail (or mailq): reads the message, then hands it to the
// running server over the control socket (root, the server's user) or the submission socket (every
// other local user), or, when none answers, checks it the same way and leaves it fsynced in the
// pickup folder before exiting 0 (docs/pickup-format.md). Exit statuses are
// sendmail's (sysexits.h). -bp lists the queue, -q flushes it, -bs speaks SMTP through the server.
using System.CommandLine;
using System.Net.Sockets;
using System.Text;
using Mailward.Cli;
using Mailward.Control;
using Mailward.Core.Configuration;
using Mailward.Core.Policy;
using Mailward.Core.Posix;
using Mailward.Core.Routing;
using Mailward.Core.Sendmail;

namespace Mailward.Sendmail;

internal static class SendmailCommand
{
    /// <summary>Where an installed server keeps its data (issue 17's package), for a sendmail run without --data or $MAILWARD_DATA.</summary>
    public const string InstalledData = "/var/lib/mailward";

    public static bool IsName(string? name) => name is "sendmail" or "mailq";

    public static async Task<int> RunAsync(string invokedAs, IReadOnlyList<string> args, CliConsole console, string? dataOption, IReadOnlyList<string> settingArgs,
        CancellationToken ct)
    {
        SendmailArguments a;
        try
        {
            a = invokedAs == "mailq" ? new SendmailArguments(SendmailMode.ListQueue, SendmailFlags.None, "", "", []) : SendmailArguments.Parse(args);
        }
        catch (UsageException e)
        {
            await console.Error.WriteLineAsync($"sendmail: {e.Message}\n{SendmailArguments.Usage}");
            return SendmailExit.Usage;
        }
        if (a.Mode == SendmailMode.Help)
        {
            await console.Out.WriteLineAsync(SendmailArguments.Usage);
            return 0;
        }
        // A program calling sendmail has no --data and rarely $MAILWARD_DATA: the installed folder then.
        var data = dataOption ?? (Environment.GetEnvironmentVariable(DataFolder.EnvironmentVariable) is { Length: > 0 } env ? env : null)
            ?? (!Directory.Exists(DataFolder.DefaultName) && Directory.Exists(InstalledData) ? InstalledData : DataFolder.DefaultName);
        var resolved = Path.GetFullPath(data);
        if (!Directory.Exists(resolved))
            return Fail(console, $"no data folder {resolved} (give --data or set MAILWARD_DATA)", SendmailExit.TempFail);
        using var ctx = new CliContext(console, resolved, settingArgs);
        try
        {
            return a.Mode switch
            {
                SendmailMode.ListQueue => await Invoke(ctx, ["queue", "list"], ct),
                SendmailMode.Flush => await Invoke(ctx, ["queue", "flush"], ct),
                SendmailMode.Smtp => await SmtpAsync(ctx, ct),
                _ => await SendAsync(ctx, resolved, a, ct),
            };
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail(console, $"no access to the data folder ({e.Message}); is the server running?", SendmailExit.TempFail);
        }
    }

    private static async Task<int> Invoke(CliContext ctx, string[] command, CancellationToken ct) =>
        await MailwardCli.BuildRoot(ctx).Parse(command).InvokeAsync(new InvocationConfiguration { Output = ctx.Out, Error = ctx.Error }, ct);

    private static int Fail(CliConsole console, string message, int code)
    {
        console.Error.WriteLine($"sendmail: {message}");
        return code;
    }

    /// <summary>
    /// What sendmail reads from a caller who cannot read the server's settings (the data folder is 0711
    /// to them): the server still applies Smtp:MaxMessageBytes to the record's length before reading it.
    /// </summary>
    private const long UnknownLimit = 1L << 30;

    private static async Task<int> SendAsync(CliContext ctx, string dataPath, SendmailArguments a, CancellationToken ct)
    {
        MailwardSettings? settings;
        try
        {
            settings = ctx.Data.Settings;
        }
        catch (UnauthorizedAccessException)
        {
            settings = null; // another local user: only public/submit.sock is theirs to reach
        }
        var max = settings?.GetInt("Smtp:MaxMessageBytes", 1, int.MaxValue) ?? UnknownLimit;
        byte[]? body;
        try
        {
            await using var input = ctx.Console.OpenInput?.Invoke() ?? new MemoryStream(Encoding.UTF8.GetBytes(await ctx.Console.In.ReadToEndAsync(ct)));
            body = await ReadMessageAsync(input, !a.Flags.HasFlag(SendmailFlags.IgnoreDots), max, ct);
        }
        catch (IOException e)
        {
            return Fail(ctx.Console, "reading the message failed: " + e.Message, SendmailExit.OsError);
        }
        if (body is null)
            return Fail(ctx.Console, settings is null ? $"message larger than {max} bytes" : $"message larger than Smtp:MaxMessageBytes ({max} bytes)",
                SendmailExit.DataError);
        var uid = Libc.EffectiveUserId;
        var now = DateTimeOffset.UtcNow;
        var request = new SendmailRequest(SendmailRequest.NewId(now), now, uid, LocalUsers.NameOf(uid), a.Flags, a.Sender, a.FullName, [.. a.Recipients], body);
        if (request.Recipients.Count > SendmailRequest.MaxRecipients)
            return Fail(ctx.Console, $"more than {SendmailRequest.MaxRecipients} recipients", SendmailExit.Usage);

        // The control socket for root and the server's user, the submission socket for everyone else
        // (docs/pickup-format.md, "sendmail's order"), then the pickup folder.
        var record = PickupRecord.Write(request);
        var answer = await ControlChannel.AskAsync(dataPath, "sendmail", TimeSpan.FromMinutes(10), record)
            ?? await ControlChannel.AskAtAsync(SubmitSocket.PathIn(dataPath), "sendmail", TimeSpan.FromMinutes(10), record);
        if (answer is not null)
        {
            var code = answer.ExitCode ?? (answer.Ok ? 0 : SendmailExit.Software);
            foreach (var line in answer.Message.Split('\n'))
                if (code != 0 || !line.StartsWith("queued as ", StringComparison.Ordinal))
                    ctx.Error.WriteLine($"sendmail: {line}");
            return code;
        }
        if (settings is null)
            return Fail(ctx.Console, $"no server answers on {SubmitSocket.PathIn(dataPath)}, and only the server's user may leave mail in the pickup folder; try again later",
                SendmailExit.TempFail);
        return await LeaveInPickupAsync(ctx, request, ct);
    }

    /// <summary>No server answers: the same checks as the server's, then the pickup file, fsynced (docs/pickup-format.md, "Writing").</summary>
    private static async Task<int> LeaveInPickupAsync(CliContext ctx, SendmailRequest request, CancellationToken ct)
    {
        var settings = ctx.Data.Settings;
        uint owner;
        using (var h = Libc.Open(ctx.Data.Path, Libc.ORdOnly | Libc.ODirectory))
            owner = Libc.Facts(h).Owner;
        var refusal = SendmailIntake.Prepare(request, SendmailSettings.From(settings, owner), out var prepared)
            ?? await SendmailIntake.CheckMailboxesAsync(new RecipientResolver(ctx.AccountStore, settings.ExtensionSeparators,
                Core.Lists.ListOptions.From(settings).Enabled ? new Core.Lists.ListDirectory(new Core.MailStore.MailStoreLayout(settings.MailStorePath, settings.MaxDirectoryEntries)) : null),
                prepared!.Envelope.Recipients, ct);
        if (refusal is not null)
            return Fail(ctx.Console, refusal.Message, refusal.ExitCode);
        foreach (var w in prepared!.Warnings)
            ctx.Error.WriteLine($"sendmail: {w}");
        if (!new FreeSpaceGuard([settings.QueuePath, settings.MailStorePath], settings.MinFreeBytes).HasRoomFor(request.Body.Length))
            return Fail(ctx.Console, "insufficient free space for the queue (Queue:MinFreeBytes); try again later", SendmailExit.TempFail);
        // root writes for the server's user: the files must be the server's to read and remove.
        uint? giveTo = Libc.EffectiveUserId == 0 && owner != 0 ? owner : null;
        var folder = PickupFolder.In(ctx.Data.Path);
        try
        {
            folder.Create(giveTo);
            folder.Write(request, giveTo);
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail(ctx.Console, $"no server is running and the pickup folder is not writable by {request.Login}: {e.Message}", SendmailExit.TempFail);
        }
        catch (IOException e)
        {
            return Fail(ctx.Console, $"no server is running and the pickup file could not be written: {e.Message}", SendmailExit.CantCreate);
        }
        return 0;
    }

    /// <summary>
    /// The message from standard input, up to its end or (unless -i) a line holding a single dot;
    /// null when it is larger than <paramref name="max"/>.
    /// </summary>
    internal static async Task<byte[]?> ReadMessageAsync(Stream input, bool dotEnds, long max, CancellationToken ct)
    {
        var message = new MemoryStream();
        var line = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await input.ReadAsync(buffer, ct)) > 0)
        {
            var start = 0;
            for (var i = 0; i < n; i++)
            {
                if (buffer[i] != (byte)'\n')
                    continue;
                line.Write(buffer, start, i + 1 - start);
                start = i + 1;
                if (dotEnds && IsDot(line))
                    return message.ToArray();
                line.WriteTo(message);
                line.SetLength(0);
                if (message.Length > max)
                    return null;
            }
            line.Write(buffer, start, n - start);
            if (line.Length > max)
                return null;
        }
        if (!(dotEnds && IsDot(line)))
            line.WriteTo(message);
        return message.Length > max ? null : message.ToArray();
    }

    private static bool IsDot(MemoryStream line)
    {
        var s = line.GetBuffer().AsSpan(0, (int)line.Length);
        return s.SequenceEqual("."u8) || s.SequenceEqual(".\n"u8) || s.SequenceEqual(".\r\n"u8);
    }

    /// <summary>-bs: the server's SmtpSession over the control socket, standard input and output as the client's pipe.</summary>
    private static async Task<int> SmtpAsync(CliContext ctx, CancellationToken ct)
    {
        using var socket = await ControlChannel.ConnectAsync(ctx.Data.Path, ct);
        if (socket is null)
        {
            await ctx.Out.WriteAsync($"421 4.3.2 {ctx.Data.Settings.Hostname} mail system not running; try again later\r\n");
            await ctx.Out.FlushAsync(ct);
            return SendmailExit.TempFail;
        }
        await using var net = new NetworkStream(socket, ownsSocket: false);
        await net.WriteAsync("smtp\n"u8.ToArray(), ct);
        var greeted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var fromServer = Task.Run(async () =>
        {
            var buffer = new byte[16 * 1024];
            int n;
            while ((n = await net.ReadAsync(buffer, ct)) > 0)
            {
                await ctx.Out.WriteAsync(Encoding.Latin1.GetString(buffer, 0, n));
                await ctx.Out.FlushAsync(ct);
                greeted.TrySetResult();
            }
            greeted.TrySetResult();
        }, ct);
        // Nothing goes to the server before its greeting (it refuses early talkers).
        await greeted.Task;
        await using var input = ctx.Console.OpenInput?.Invoke() ?? new MemoryStream(Encoding.Latin1.GetBytes(await ctx.Console.In.ReadToEndAsync(ct)));
        try
        {
            await input.CopyToAsync(net, ct);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (IOException)
        {
            // The server closed the session (QUIT, an error): what it said is on standard output.
        }
        await fromServer;
        return 0;
    }
}
