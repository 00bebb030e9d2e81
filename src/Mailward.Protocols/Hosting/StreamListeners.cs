// The listeners whose sessions sit idle by the thousand (IMAP), bound and served without Kestrel: an
// accept loop per listener, each connection its socket as a stream (StreamConnection, read and written
// without .NET's socket engine: SocketStreamTransport, ReadinessLoop) handed to the
// protocol's handler on the thread pool, and a stop that waits for the sessions and then aborts the
// rest, as Kestrel's does (docs/imap.md, "The IMAP listeners' hosting").
using System.Net;
using System.Net.Sockets;
using Mailward.Core.Posix;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Mailward.Protocols.Hosting;

/// <summary>
/// Binds the stream listeners when the host starts and serves their connections until it stops.
/// Kestrel keeps a record, a task, a log scope, a cancellation source, metrics and features for each
/// connection (about 900 bytes, held by every idle session); here a connection is its socket, its
/// stream and two links in the list of live ones.
/// </summary>
public sealed partial class StreamListeners : IHostedService
{
    /// <summary>Pending connections the kernel holds before accept (Kestrel's sockets default).</summary>
    private const int Backlog = 512;

    /// <summary>How long aborted sessions get to end after the host's grace is over.</summary>
    private static readonly TimeSpan AbortGrace = TimeSpan.FromSeconds(5);

    private readonly List<StreamListener> _listeners = [];
    private readonly Lock _lock = new();
    private StreamConnection? _first; // the live connections, linked through themselves: no node per connection
    private int _live;
    private bool _stopping;
    private TaskCompletionSource? _drained;
    private long _accepted;
    private long _reservePauses;
    private ILogger _logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>How long a session that has answered keeps its thread for the client's next command (set before the start).</summary>
    public ReplyLinger Linger { get; set; } = ReplyLinger.None;

    /// <summary>
    /// Imap:ReservedDescriptors: descriptors below the process's limit the listeners leave to the
    /// rest of the server. At the limit .NET cannot start a thread (each new one opens a pipe) and
    /// aborts the whole process ("Out of memory."); sessions could not open mail files either.
    /// </summary>
    public int ReservedDescriptors { get; set; } = 128;

    /// <summary>Times accepting paused for want of descriptors (for tests and the curious).</summary>
    public long ReservePauses => Interlocked.Read(ref _reservePauses);

    /// <summary>The services the handlers are made from; set when the host is built, before it starts.</summary>
    public IServiceProvider? Services { get; set; }

    /// <summary>Connections accepted so far (for tests: that a listener is served here).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    /// <summary>Connections being served now.</summary>
    public int Live
    {
        get
        {
            lock (_lock)
                return _live;
        }
    }

    /// <summary>A listener to bind at the start ("*": IPv6's any address in dual mode, IPv4's where the host has no IPv6).</summary>
    public StreamListener Add(string name, string address, int port, Func<IServiceProvider, Func<ConnectionContext, Task>> serve)
    {
        var listener = new StreamListener(name, address == "*" ? IPAddress.IPv6Any : IPAddress.Parse(address), port, serve);
        _listeners.Add(listener);
        return listener;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var services = Services ?? throw new InvalidOperationException("StreamListeners.Services is not set");
        _logger = services.GetRequiredService<ILoggerFactory>().CreateLogger<StreamListeners>();
        try
        {
            foreach (var listener in _listeners)
            {
                listener.Handler = listener.Serve(services);
                listener.Socket = Bind(listener.Wanted);
                listener.Bound = (IPEndPoint)listener.Socket.LocalEndPoint!;
            }
        }
        catch
        {
            foreach (var listener in _listeners)
                listener.Socket?.Dispose();
            throw;
        }
        foreach (var listener in _listeners)
            listener.Accepting = AcceptAsync(listener);
        return Task.CompletedTask;
    }

    private static Socket Bind(IPEndPoint wanted)
    {
        try
        {
            return BindOne(wanted);
        }
        catch (SocketException e) when (wanted.Address.Equals(IPAddress.IPv6Any) && e.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.AddressNotAvailable)
        {
            return BindOne(new IPEndPoint(IPAddress.Any, wanted.Port)); // "*" on a host without IPv6, as Kestrel's ListenAnyIP falls back
        }
    }

    private static Socket BindOne(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endpoint.Address.Equals(IPAddress.IPv6Any))
                socket.DualMode = true; // "*": IPv4 clients too, as IPv4-mapped addresses (ConnectionAddresses makes them plain)
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true); // a restart binds while old connections are in TIME_WAIT
            socket.Bind(endpoint);
            socket.Listen(Backlog);
            return socket;
        }
        catch (SocketException e) when (e.SocketErrorCode != SocketError.AddressFamilyNotSupported && e.SocketErrorCode != SocketError.AddressNotAvailable)
        {
            // A port taken, or one below 1024 without the right: an IOException as Kestrel's, which `serve` reports.
            socket.Dispose();
            var why = e.SocketErrorCode == SocketError.AddressAlreadyInUse ? "address already in use" : e.Message;
            throw new IOException($"Failed to bind to address {endpoint}: {why}.", e);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptAsync(StreamListener listener)
    {
        var socket = listener.Socket!;
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await socket.AcceptAsync();
            }
            catch (ObjectDisposedException)
            {
                return; // stopped
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted)
            {
                return; // stopped
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
            {
                // Out of descriptors or memory: a pause, not a spin, until sessions end (the waiting clients stay in the backlog).
                await WaitForDescriptorsAsync(socket);
                continue;
            }
            catch (SocketException)
            {
                continue; // one client's failed accept (reset before it was taken): the next
            }
            accepted.NoDelay = true; // replies are written whole (LineChannel); no reason to hold the last segment
            Interlocked.Increment(ref _accepted);
            var connection = new StreamConnection(accepted, this, listener.Handler!, Linger);
            if (!Track(connection))
            {
                await connection.DisposeAsync(); // accepted as the stop began
                continue;
            }
            // On the thread pool, as Kestrel dispatches: a session's first steps (its greeting, a TLS
            // handshake) never hold up the next accept. The connection is its own work item.
            ThreadPool.UnsafeQueueUserWorkItem(connection, preferLocal: false);
            // The kernel gives the lowest free number, so every lower one is open: within the reserve of
            // the limit, this one is served and the next waits in the backlog until sessions end.
            if ((int)accepted.Handle >= ReserveStart())
                await WaitForDescriptorsAsync(socket);
        }
    }

    /// <summary>Pauses accepting until the lowest free descriptor is below the reserve again.</summary>
    private async Task WaitForDescriptorsAsync(Socket listening)
    {
        Interlocked.Increment(ref _reservePauses);
        do
            await Task.Delay(100, CancellationToken.None); // a stop meanwhile shows at the next accept
        while (Libc.LowestFreeDescriptor(listening.SafeHandle) >= ReserveStart());
    }

    /// <summary>The first descriptor number of the reserve (the limit is read each time: an admin may change a running server's with prlimit).</summary>
    private int ReserveStart() => Math.Max(0, Libc.DescriptorLimit() - ReservedDescriptors);

    /// <summary>Serves one connection to its end, then closes it and forgets it (StreamConnection.Execute starts it).</summary>
    internal async Task ServeAsync(StreamConnection connection, Func<ConnectionContext, Task> handler)
    {
        try
        {
            await handler(connection);
        }
        catch (Exception e)
        {
            HandlerFailed(_logger, connection.ConnectionId, e); // the edge catches what a session throws: this is a bug
        }
        finally
        {
            await connection.DisposeAsync();
            Untrack(connection);
        }
    }

    private bool Track(StreamConnection connection)
    {
        lock (_lock)
        {
            if (_stopping)
                return false;
            connection.Next = _first;
            _first?.Previous = connection;
            _first = connection;
            _live++;
            return true;
        }
    }

    private void Untrack(StreamConnection connection)
    {
        TaskCompletionSource? drained = null;
        lock (_lock)
        {
            if (connection.Previous is { } previous)
                previous.Next = connection.Next;
            else if (ReferenceEquals(_first, connection))
                _first = connection.Next;
            connection.Next?.Previous = connection.Previous;
            connection.Previous = connection.Next = null;
            if (--_live == 0 && _stopping)
                drained = _drained;
        }
        drained?.TrySetResult();
    }

    /// <summary>
    /// Stops accepting, then waits for the sessions (they end by themselves: each hears the host's
    /// stopping and says BYE) until the host's grace is over; those left are aborted, as Kestrel does.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Task drained;
        lock (_lock)
        {
            _stopping = true;
            _drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_live == 0)
                _drained.TrySetResult();
            drained = _drained.Task;
        }
        foreach (var listener in _listeners)
            listener.Socket?.Dispose();
        foreach (var listener in _listeners)
            if (listener.Accepting is { } accepting)
                await accepting;
        try
        {
            await drained.WaitAsync(cancellationToken);
            return;
        }
        catch (OperationCanceledException)
        {
        }
        List<StreamConnection> left = [];
        lock (_lock)
            for (var c = _first; c is not null; c = c.Next)
                left.Add(c);
        SessionsAborted(_logger, left.Count);
        foreach (var c in left)
            c.Abort(new ConnectionAbortedException("the server is stopping"));
        try
        {
            await drained.WaitAsync(AbortGrace, CancellationToken.None);
        }
        catch (TimeoutException)
        {
            // Stuck past an abort: the process ends anyway.
        }
    }

    [LoggerMessage(EventId = 1009, Level = LogLevel.Error, Message = "connection {ConnectionId} failed outside its session")]
    private static partial void HandlerFailed(ILogger logger, string connectionId, Exception e);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "{Count} sessions did not end within the shutdown's time and were aborted")]
    private static partial void SessionsAborted(ILogger logger, int count);
}

/// <summary>One stream listener: what it asked for, where it is bound, and what serves its connections.</summary>
public sealed class StreamListener(string name, IPAddress address, int port, Func<IServiceProvider, Func<ConnectionContext, Task>> serve)
{
    public string Name { get; } = name;
    internal IPEndPoint Wanted { get; } = new(address, port);
    internal Func<IServiceProvider, Func<ConnectionContext, Task>> Serve { get; } = serve;
    internal Func<ConnectionContext, Task>? Handler { get; set; }
    internal Socket? Socket { get; set; }
    internal Task? Accepting { get; set; }

    /// <summary>Where it is bound (the real port when 0 was asked for); null before the host starts.</summary>
    public IPEndPoint? Bound { get; internal set; }
}
