// The submission socket (docs/pickup-format.md, "The submission socket"): <data>/public/submit.sock,
// the one door of the data folder open to every local user, so a website's mail() reaches the running
// server. It takes exactly one `sendmail` request and its record per connection; the caller is the
// kernel's answer (SO_PEERCRED), and each user may hold only a few submissions open at once.
using System.Net.Sockets;
using System.Text.Json;
using Mailward.Control;
using Mailward.Core.Posix;
using Mailward.Core.Sendmail;
using Mailward.Protocols.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;

namespace Mailward.Sendmail;

public static class SubmitSocket
{
    /// <summary>0755: everyone may reach the socket in it, only the server's user may put anything there.</summary>
    public const UnixFileMode FolderMode = (UnixFileMode)0b111_101_101;

    /// <summary>0666: connecting to a Unix socket needs write permission on it (unix(7)).</summary>
    public const UnixFileMode SocketMode = (UnixFileMode)0b110_110_110;

    public static string PathIn(string dataPath) => Path.Combine(dataPath, "public", "submit.sock");

    /// <summary>
    /// The socket's path with its folder ready: public/ made 0755 when missing; when present it must be
    /// a real folder owned by the server's user (never a link someone else made), or null and why.
    /// A socket file nobody answers on is left from a killed server and removed.
    /// </summary>
    public static string? Prepare(string dataPath, out string? problem)
    {
        problem = null;
        var socket = PathIn(dataPath);
        var folder = Path.GetDirectoryName(socket)!;
        var made = Libc.Mkdir(folder, FolderMode);
        try
        {
            using var h = Libc.OpenWithoutLinks(folder, Libc.ORdOnly | Libc.ODirectory);
            var facts = Libc.Facts(h);
            if (facts.Owner != Libc.EffectiveUserId)
            {
                problem = $"{folder} belongs to uid {facts.Owner}, not to the server's user; the submission socket is off";
                return null;
            }
            if (facts.Mode != FolderMode)
                File.SetUnixFileMode(folder, FolderMode); // mkdir's mode went through the umask (077)
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"{folder} is not a folder of the server's own ({(made == 0 ? "" : "mkdir errno " + made + ", ")}{e.Message}); the submission socket is off";
            return null;
        }
        RemoveStale(socket);
        return socket;
    }

    /// <summary>Removes a socket file that nobody answers on; a live one is another server's, which also holds the queue's lock.</summary>
    public static void RemoveStale(string path)
    {
        if (!File.Exists(path))
            return;
        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(path));
        }
        catch (SocketException)
        {
            File.Delete(path);
        }
    }
}

/// <summary>Opens the socket to everyone once Kestrel has bound it, before the host reports itself started (READY=1).</summary>
internal sealed class SubmitSocketOpener(string path) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        File.SetUnixFileMode(path, SubmitSocket.SocketMode); // ours: made by this process's bind in a folder only we write
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Serves the submission socket: `sendmail` and its record, nothing else.</summary>
public sealed class SubmitConnectionHandler(IServiceProvider services, SubmitLimits limits) : ConnectionHandler
{
    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        await using var stream = new PipeStream(connection.Transport);
        ControlAnswer answer;
        if (ControlSendmail.Peer(connection) is not { } peer)
            answer = new ControlAnswer(false, "cannot tell which local user is asking", ExitCode: SendmailExit.NoPermission);
        else if (!limits.TryEnter(peer.Uid))
            answer = new ControlAnswer(false, $"user {peer.Login} has {limits.PerUser} submissions open already (Sendmail:MaxConnectionsPerUser); try again later",
                ExitCode: SendmailExit.TempFail);
        else
        {
            try
            {
                var (request, after) = await ControlChannel.ReadRequestLineAsync(stream);
                answer = request == "sendmail"
                    ? await ControlSendmail.SubmitAsync(services, peer, stream, after)
                    : new ControlAnswer(false, "this socket takes only sendmail submissions; the queue commands need the control socket (root or the server's user)",
                        ExitCode: SendmailExit.NoPermission);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or ObjectDisposedException or OperationCanceledException)
            {
                answer = new ControlAnswer(false, "the submission failed: " + e.Message, ExitCode: SendmailExit.TempFail);
            }
            finally
            {
                limits.Leave(peer.Uid);
            }
        }
        try
        {
            await stream.WriteAsync(JsonSerializer.SerializeToUtf8Bytes(answer, ControlChannel.Json));
            await stream.FlushAsync();
        }
        catch (IOException)
        {
            // The caller went away; what it sent (if anything) was queued or refused already.
        }
    }
}

/// <summary>Open submissions per local user (Sendmail:MaxConnectionsPerUser).</summary>
public sealed class SubmitLimits(int perUser)
{
    private readonly Dictionary<uint, int> _open = [];

    public int PerUser => perUser;

    public bool TryEnter(uint uid)
    {
        lock (_open)
        {
            var n = _open.GetValueOrDefault(uid);
            if (n >= perUser)
                return false;
            _open[uid] = n + 1;
            return true;
        }
    }

    public void Leave(uint uid)
    {
        lock (_open)
        {
            if (_open.GetValueOrDefault(uid) <= 1)
                _open.Remove(uid);
            else
                _open[uid]--;
        }
    }
}
