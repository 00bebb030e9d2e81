// The connection edge every listener shares, written once: the connection limits and the refusal
// line, the session id, the implicit-TLS handshake (465, 995) and the exception policy. A protocol
// gives its listener's description and a session to run; nothing here knows SMTP or POP3.
using System.Net;
using System.Security.Authentication;
using Mailward.Core.Metrics;
using Mailward.Core.Policy;
using Mailward.Protocols.Hosting;
using Mailward.Protocols.Tls;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Common;

/// <summary>One listener as the edge sees it: its protocol's name (for the log), implicit TLS or not,
/// the slots it takes from, the line that refuses a client when they are full, and its name in the
/// metrics (by default the protocol, with "s" for implicit TLS: pop3s).</summary>
public sealed record EdgeListener(string Protocol, bool ImplicitTls, ConnectionLimiter Slots, string RefusalLine, string? Name = null)
{
    public string MetricsName { get; } = Name ?? (ImplicitTls ? Protocol + "s" : Protocol);
}

/// <summary>What the edge hands a session: the endpoints, the session id, and TLS, done or on offer.</summary>
public sealed record EdgeConnection(string SessionId, IPAddress Client, int ClientPort, IPAddress? Server,
    string? TlsDescription, Func<Stream, CancellationToken, Task<(Stream Stream, string Description)>>? StartTls)
{
    /// <summary>Cancelled when the server stops; the session's token also fires when the client goes, and a session tells the two apart by this one.</summary>
    public CancellationToken ServerStopping { get; init; }
}

public sealed partial class ProtocolEdge(TlsCertificates tls, IHostApplicationLifetime lifetime, ILogger<ProtocolEdge> logger)
{
    // STARTTLS's handshake as one delegate for every connection, not one held by each.
    private readonly Func<Stream, CancellationToken, Task<(Stream Stream, string Description)>> _startTls = tls.HandshakeAsync;

    /// <summary>A new session id: 12 hex digits, what the log and the greetings show.</summary>
    public static string NewSessionId() => Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(6));

    /// <summary>
    /// Runs one accepted connection until its session ends. Nothing escapes to Kestrel: a refused
    /// client, a failed implicit-TLS handshake and a lost connection are normal and logged at most
    /// once; anything else is a bug, logged once with its stack, and only this connection ends.
    /// </summary>
    public async Task RunAsync(ConnectionContext connection, EdgeListener listener, Func<Stream, EdgeConnection, CancellationToken, Task> session)
    {
        var (client, clientPort, server) = ConnectionAddresses.Of(connection);
        var clientText = client.ToString();
        // The IMAP listeners' connections are streams already (SocketStreamTransport); the rest are Kestrel's pipes.
        Stream stream = connection is StreamConnection direct ? direct.Stream : new PipeStream(connection.Transport);
        try
        {
            if (listener.Slots.TryEnter(client) is { } refusal)
            {
                MailwardMetrics.ConnectionRefused(listener.MetricsName);
                Refused(logger, listener.Protocol, clientText, refusal);
                // Before a handshake nothing can be said on an implicit-TLS port: the close is the answer.
                if (!listener.ImplicitTls)
                    await TrySayAsync(stream, listener.RefusalLine);
                return;
            }
            MailwardMetrics.ConnectionAccepted(listener.MetricsName);
            var started = MailwardMetrics.SessionStarted(listener.MetricsName);
            try
            {
                // A stream connection has no loop that sees the client go (its reads do), so no token of its own: then
                // the server's stopping is the session's token, and no linked source is held beside every idle session.
                using var linked = connection.ConnectionClosed.CanBeCanceled
                    ? CancellationTokenSource.CreateLinkedTokenSource(connection.ConnectionClosed, lifetime.ApplicationStopping)
                    : null;
                var token = linked?.Token ?? lifetime.ApplicationStopping;
                var id = NewSessionId();
                string? description = null;
                if (listener.ImplicitTls)
                {
                    try
                    {
                        (stream, description) = await tls.HandshakeAsync(stream, token);
                    }
                    catch (Exception e) when (e is IOException or AuthenticationException)
                    {
                        // A plaintext client on 465 or 995, a scanner, or one that hung up: one line, then close.
                        var error = ClientText.Printable(e.Message, 200);
                        TlsFailed(logger, listener.Protocol, id, clientText, error);
                        return;
                    }
                }
                await session(stream, new EdgeConnection(id, client, clientPort, server, description, description is null ? _startTls : null)
                {
                    ServerStopping = lifetime.ApplicationStopping,
                }, token);
            }
            catch (IOException)
            {
                // The connection went away; the session has logged how it ended.
            }
            catch (OperationCanceledException) when (connection.ConnectionClosed.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested)
            {
                // The client left or the server is stopping before a session began.
            }
            catch (Exception e)
            {
                SessionFailed(logger, listener.Protocol, clientText, e);
            }
            finally
            {
                listener.Slots.Leave(client);
                MailwardMetrics.SessionEnded(listener.MetricsName, started);
            }
        }
        finally
        {
            await stream.DisposeAsync();
        }
    }

    private static async Task TrySayAsync(Stream stream, string line)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(line + "\r\n"), timeout.Token);
            await stream.FlushAsync(timeout.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // A refused client that has already gone.
        }
    }

    [LoggerMessage(EventId = 5000, Level = LogLevel.Warning, Message = "{Protocol} connection from {Client} refused: {Reason}")]
    private static partial void Refused(ILogger logger, string protocol, string client, string reason);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "{Protocol} {SessionId} tls handshake failed client={Client}: {Error}")]
    private static partial void TlsFailed(ILogger logger, string protocol, string sessionId, string client, string error);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "{Protocol} session failed client={Client}")]
    private static partial void SessionFailed(ILogger logger, string protocol, string client, Exception error);
}
