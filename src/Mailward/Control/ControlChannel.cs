// The running server's control channel: a Unix socket at <data>/run/control.sock (owner-only, as
// the data folder) through which `mailward queue list|stat|flush|del|hosts` reach the live queue
// manager (qmail's SIGALRM and qmail-qread in one place). One request line, one JSON answer; a
// `sendmail` request is followed by one submission record (docs/pickup-format.md), and `smtp`
// turns the connection into an SMTP session (sendmail -bs). Sendmail/ControlSendmail.cs serves those two.
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Mailward.Core.Accounts;
using Mailward.Core.Admin;
using Mailward.Core.Delivery;
using Mailward.Core.Delivery.Remote;
using Mailward.Core.Queue;
using Mailward.Protocols.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace Mailward.Control;

public sealed record ControlAnswer(bool Ok, string Message, IReadOnlyList<MessageStatus>? Queue = null, IReadOnlyList<UnreachableHost>? Hosts = null,
    QueueDamageSummary? Damage = null, int? ExitCode = null);

/// <summary>The queue damage the running server found at its start, as `queue stat|list` show it.</summary>
public sealed record QueueDamageSummary(int Ranges, IReadOnlyList<string> Suspects, IReadOnlyList<string> Lines);

public static class ControlChannel
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static string SocketPath(string dataPath) => Path.Combine(dataPath, "run", "control.sock");

    /// <summary>Asks the running server; null when none answers (not running, or a stale socket).</summary>
    public static Task<ControlAnswer?> AskAsync(string dataPath, string request, TimeSpan? timeout = null, byte[]? payload = null) =>
        AskAtAsync(SocketPath(dataPath), request, timeout, payload);

    /// <summary>Asks the server on the socket at <paramref name="path"/>; null when none answers or the caller may not connect.</summary>
    public static async Task<ControlAnswer?> AskAtAsync(string path, string request, TimeSpan? timeout = null, byte[]? payload = null)
    {
        if (!File.Exists(path))
            return null;
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cts.Token);
        }
        catch (SocketException)
        {
            return null;
        }
        await using var stream = new NetworkStream(socket, ownsSocket: false);
        try
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(request + "\n"), cts.Token);
            if (payload is not null)
                await stream.WriteAsync(payload, cts.Token);
            await stream.FlushAsync(cts.Token);
        }
        catch (IOException)
        {
            // The server answered before taking it all (a record too large, a refused user): read why.
        }
        using var reader = new StreamReader(stream, Encoding.UTF8);
        string text;
        try
        {
            text = await reader.ReadToEndAsync(cts.Token);
        }
        catch (IOException e)
        {
            // A server that turns a caller away without reading what it sent may reset the connection
            // (unix(7): unread data on close): no answer, so try again later (sendmail's exit 75).
            return new ControlAnswer(false, $"the server closed the connection without an answer ({e.Message}); try again later", ExitCode: 75);
        }
        return JsonSerializer.Deserialize<ControlAnswer>(text, Json);
    }

    private const int MaxRequest = 1024;

    /// <summary>
    /// The request line (at most 1 KiB, within 10 s) and whatever bytes came with it after its newline.
    /// Bytes after the line belong to the request's payload (a submission record).
    /// </summary>
    public static async Task<(string Request, ReadOnlyMemory<byte> After)> ReadRequestLineAsync(Stream stream)
    {
        var buffer = new byte[MaxRequest];
        var length = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (length < MaxRequest)
        {
            var n = await stream.ReadAsync(buffer.AsMemory(length), timeout.Token);
            if (n == 0)
                break;
            length += n;
            if (buffer.AsSpan(0, length).Contains((byte)'\n'))
                break;
        }
        var newline = buffer.AsSpan(0, length).IndexOf((byte)'\n');
        var request = Encoding.UTF8.GetString(buffer, 0, newline < 0 ? length : newline).Trim();
        var after = newline < 0 ? Memory<byte>.Empty : buffer.AsMemory(newline + 1, length - newline - 1);
        return (request, after);
    }

    /// <summary>A connection to the running server's socket, or null when none answers (sendmail -bs).</summary>
    public static async Task<Socket?> ConnectAsync(string dataPath, CancellationToken ct)
    {
        var path = SocketPath(dataPath);
        if (!File.Exists(path))
            return null;
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), ct);
            return socket;
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }
    }
}

/// <summary>Serves the control socket inside `mailward serve`.</summary>
public sealed class ControlConnectionHandler(QueueManager manager, IServiceProvider services) : ConnectionHandler
{
    /// <summary>Who asks on the socket: the command line (the socket's folder is the server user's only).</summary>
    private static readonly Actor CommandLine = Actor.System with { Origin = "command line (control socket)" };

    private AccountAdmin Admin => services.GetRequiredService<AccountAdmin>();

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        await using var stream = new PipeStream(connection.Transport);
        var (request, after) = await ControlChannel.ReadRequestLineAsync(stream);
        if (request == "smtp")
        {
            await Sendmail.ControlSendmail.SmtpAsync(services, connection, stream, after);
            return;
        }
        ControlAnswer answer;
        try
        {
            answer = request == "sendmail"
                ? await Sendmail.ControlSendmail.SubmitAsync(services, connection, stream, after)
                : await AnswerAsync(request);
        }
        catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException)
        {
            answer = new ControlAnswer(false, $"{request}: {e.Message}");
        }
        await stream.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(answer, ControlChannel.Json));
        await stream.FlushAsync();
    }

    private async Task<ControlAnswer> AnswerAsync(string request)
    {
        var parts = request.Split(' ', 2, StringSplitOptions.TrimEntries);
        switch (parts[0])
        {
            case "queue-status":
                var health = manager.QueueHealth;
                return new ControlAnswer(true, "", manager.Status(), manager.Hosts(),
                    new QueueDamageSummary(health.Damage.Count, health.Suspects, health.Lines()));
            // Through AccountAdmin, so `mailward queue flush|del` land in the audit log as the pages' do.
            case "queue-flush":
                var n = await Admin.FlushQueueAsync(CommandLine, manager);
                return new ControlAnswer(true, $"{n} deferred message(s) scheduled for delivery now");
            case "queue-del" when parts.Length == 2:
                try
                {
                    await Admin.DeleteQueuedAsync(CommandLine, manager, parts[1]);
                    return new ControlAnswer(true, $"deleted {parts[1]}");
                }
                catch (AccountException e)
                {
                    return new ControlAnswer(false, e.Message);
                }
            default:
                return new ControlAnswer(false, $"unknown request '{request}'");
        }
    }
}
