// A Kestrel transport for listeners whose sessions sit idle by the thousand (IMAP IDLE): a connection is
// its socket read and written as a NetworkStream, with no pipes, no send or receive loop and no thread-
// pool hop between them and the session. Kestrel still binds, tracks, drains and aborts the connections;
// it picks this transport for a StreamEndPoint only (docs/imap.md, "The IMAP listeners' transport").
using System.Collections;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Mailward.Protocols.Hosting;

/// <summary>An address to listen on whose connections are streams over the socket (SocketStreamTransport).</summary>
public sealed class StreamEndPoint(IPAddress address, int port) : IPEndPoint(address, port);

/// <summary>Binds StreamEndPoints; every other endpoint stays with Kestrel's socket transport.</summary>
public sealed class StreamTransportFactory : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    /// <summary>Pending connections the kernel holds before accept (Kestrel's sockets default).</summary>
    private const int Backlog = 512;

    private long _accepted;

    /// <summary>Connections accepted by this transport so far (for tests: that a listener is bound here).</summary>
    public long Accepted => Interlocked.Read(ref _accepted);

    public bool CanBind(EndPoint endpoint) => endpoint is StreamEndPoint;

    public ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var wanted = (StreamEndPoint)endpoint;
        Socket socket;
        try
        {
            socket = Bind(wanted);
        }
        catch (SocketException e) when (wanted.Address.Equals(IPAddress.IPv6Any) && e.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.AddressNotAvailable)
        {
            socket = Bind(new StreamEndPoint(IPAddress.Any, wanted.Port)); // "*" on a host without IPv6, as Kestrel's ListenAnyIP falls back
        }
        return ValueTask.FromResult<IConnectionListener>(new StreamListener(this, socket));
    }

    private static Socket Bind(IPEndPoint endpoint)
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
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class StreamListener(StreamTransportFactory factory, Socket socket) : IConnectionListener
    {
        private readonly IPEndPoint _bound = (IPEndPoint)socket.LocalEndPoint!;

        // The bound address (the real port when 0 was asked for), still a StreamEndPoint should Kestrel bind it again.
        public EndPoint EndPoint => new StreamEndPoint(_bound.Address, _bound.Port);

        public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
        {
            while (true)
            {
                try
                {
                    var accepted = await socket.AcceptAsync(cancellationToken);
                    accepted.NoDelay = true; // replies are written whole (LineChannel); no reason to hold the last segment
                    Interlocked.Increment(ref factory._accepted);
                    return new StreamConnection(accepted);
                }
                catch (ObjectDisposedException)
                {
                    return null; // unbound
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted)
                {
                    return null; // unbound
                }
                catch (SocketException e) when (e.SocketErrorCode is SocketError.TooManyOpenSockets or SocketError.NoBufferSpaceAvailable)
                {
                    // Out of descriptors or memory: a pause, not a spin, until sessions end (the waiting clients stay in the backlog).
                    await Task.Delay(100, CancellationToken.None); // an unbind meanwhile shows at the next accept
                }
                catch (SocketException)
                {
                    // One client's failed accept (reset before it was taken): the next.
                }
            }
        }

        public ValueTask UnbindAsync(CancellationToken cancellationToken = default)
        {
            socket.Dispose();
            return default;
        }

        public ValueTask DisposeAsync()
        {
            socket.Dispose();
            return default;
        }
    }
}

/// <summary>One accepted connection: its socket as a stream (<see cref="Stream"/>), what the sessions read and write.</summary>
public sealed class StreamConnection : ConnectionContext
{
    private static long s_lastId;

    /// <summary>Most octets read and dropped at close so unread input does not turn the close into a reset (which can lose the last reply).</summary>
    private const int MaxDrainBytes = 64 * 1024;

    private readonly Socket _socket;
    private string? _id;
    private IDictionary<object, object?>? _items;
    private int _closed;

    internal StreamConnection(Socket socket)
    {
        _socket = socket;
        Stream = new SocketStream(socket); // closed here (Close), gently, not by whoever disposes the stream
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
    }

    /// <summary>The socket as a stream: each write is sent at once (callers buffer their replies), each read waits on the socket.</summary>
    public Stream Stream { get; }

    public override string ConnectionId
    {
        get => _id ??= "S" + Interlocked.Increment(ref s_lastId).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        set => _id = value;
    }

    public override IFeatureCollection Features { get; } = new SmallFeatureCollection();

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new Dictionary<object, object?>();
        set => _items = value;
    }

    /// <summary>None: the edge reads <see cref="Stream"/>, and no connection middleware runs on these listeners.</summary>
    public override IDuplexPipe Transport
    {
        get => throw new NotSupportedException("a stream connection has no pipes; read Stream");
        set => throw new NotSupportedException("a stream connection has no pipes");
    }

    /// <summary>Kestrel's abort (a shutdown past its grace): the socket is shut, so a session's waiting read or write fails at once.</summary>
    public override void Abort(ConnectionAbortedException abortReason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
            return;
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        _socket.Dispose();
    }

    public override ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
            Close();
        return base.DisposeAsync();
    }

    private void Close()
    {
        try
        {
            // What the client sent and nobody read would make the kernel answer the close with a reset,
            // which may overtake the last reply (a pipelined command after LOGOUT): read it away first.
            // Only what is there already: Available octets never block a read.
            var drained = 0;
            Span<byte> scratch = stackalloc byte[1024];
            int available;
            while (drained < MaxDrainBytes && (available = _socket.Available) > 0)
            {
                var n = _socket.Receive(scratch[..Math.Min(available, scratch.Length)], SocketFlags.None, out var error);
                if (error != SocketError.Success || n <= 0)
                    break;
                drained += n;
            }
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Gone already.
        }
        _socket.Dispose();
    }
}

/// <summary>
/// The socket as a stream whose zero-byte read means what the line channel and IDLE take it to mean:
/// input is there, or the end. The socket's own completes when the kernel last said "readable",
/// which may be about octets a read has taken already (epoll's edge came after the read): IDLE would
/// then sit in a real read and hear no new mail. Here such a wake-up is checked (octets available, or
/// readable at once: the end) and the wait made again, with no allocation per wait.
/// Writes are tried at once without blocking, and only what the socket's buffer cannot take is left
/// to an asynchronous send: a session whose replies fit (every idle one) never makes the socket's
/// state for asynchronous sends, about 360 bytes held for the connection's life.
/// </summary>
internal sealed class SocketStream : NetworkStream, IValueTaskSource<int>
{
    public SocketStream(Socket socket)
        : base(socket, ownsSocket: false) // a NetworkStream refuses a non-blocking socket: the mode is set after
    {
        socket.Blocking = false; // a synchronous send takes what fits and never waits (asynchronous operations ignore the mode)
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        try
        {
            var sent = Socket.Send(buffer.Span, SocketFlags.None, out var error);
            if (error == SocketError.Success)
            {
                if (sent == buffer.Length)
                    return default;
                buffer = buffer[sent..];
            }
            else if (error != SocketError.WouldBlock)
                return ValueTask.FromException(new IOException("Unable to write data to the transport connection: " + error, new SocketException((int)error)));
        }
        catch (ObjectDisposedException e)
        {
            return ValueTask.FromException(e);
        }
        return base.WriteAsync(buffer, cancellationToken); // the rest when the client has read enough
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // On a non-blocking socket a synchronous call would fail only when the socket's buffer is full or
    // empty, that is now and then: refused always instead, so a caller that uses one shows in the tests.
    public override void Write(ReadOnlySpan<byte> buffer) => throw SyncRefused();

    public override void Write(byte[] buffer, int offset, int count) => throw SyncRefused();

    public override int Read(Span<byte> buffer) => throw SyncRefused();

    public override int Read(byte[] buffer, int offset, int count) => throw SyncRefused();

    private static NotSupportedException SyncRefused() => new("a connection's stream is read and written asynchronously");

    private ManualResetValueTaskSourceCore<int> _result;
    private ValueTaskAwaiter<int> _waiting;
    private CancellationToken _waitToken;
    private Action? _waitCompleted;

    // The socket's ValueTask is looked at once: its result only after IsCompleted, else its awaiter is kept and read once, in WaitCompleted.
#pragma warning disable CA2012
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!buffer.IsEmpty)
            return base.ReadAsync(buffer, cancellationToken);
        try
        {
            var wait = base.ReadAsync(Memory<byte>.Empty, cancellationToken);
            if (wait.IsCompleted)
            {
                wait.GetAwaiter().GetResult(); // done at once: the socket looked (a peek), so it is exact
                return new ValueTask<int>(0);
            }
            _waitToken = cancellationToken;
            _waiting = wait.GetAwaiter();
            _result.Reset();
            _waiting.UnsafeOnCompleted(_waitCompleted ??= WaitCompleted);
            return new ValueTask<int>(this, _result.Version);
        }
        catch (Exception e)
        {
            return ValueTask.FromException<int>(e);
        }
    }

    private void WaitCompleted()
    {
        var waiting = _waiting;
        _waiting = default;
        try
        {
            waiting.GetResult();
            if (Socket.Available == 0 && !Socket.Poll(0, SelectMode.SelectRead))
            {
                // Woken for octets already taken: wait again.
                var again = base.ReadAsync(Memory<byte>.Empty, _waitToken);
                if (!again.IsCompleted)
                {
                    _waiting = again.GetAwaiter();
                    _waiting.UnsafeOnCompleted(_waitCompleted!);
                    return;
                }
                again.GetAwaiter().GetResult();
            }
        }
        catch (Exception e)
        {
            _waitToken = default;
            _result.SetException(e);
            return;
        }
        _waitToken = default;
        _result.SetResult(0);
    }
#pragma warning restore CA2012

    int IValueTaskSource<int>.GetResult(short token) => _result.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _result.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _result.OnCompleted(continuation, state, token, flags);
}

/// <summary>
/// The few features Kestrel sets on a connection (four), in a list searched in order: a FeatureCollection
/// makes a dictionary for them, held by every idle session.
/// </summary>
internal sealed class SmallFeatureCollection : IFeatureCollection
{
    private KeyValuePair<Type, object>[] _items = new KeyValuePair<Type, object>[4];
    private int _count;

    public bool IsReadOnly => false;

    public int Revision { get; private set; }

    public object? this[Type key]
    {
        get
        {
            for (var i = 0; i < _count; i++)
                if (_items[i].Key == key)
                    return _items[i].Value;
            return null;
        }
        set
        {
            Revision++;
            for (var i = 0; i < _count; i++)
                if (_items[i].Key == key)
                {
                    if (value is null)
                    {
                        Array.Copy(_items, i + 1, _items, i, _count - i - 1);
                        _items[--_count] = default;
                    }
                    else
                        _items[i] = new(key, value);
                    return;
                }
            if (value is null)
                return;
            if (_count == _items.Length)
                Array.Resize(ref _items, _count * 2);
            _items[_count++] = new(key, value);
        }
    }

    public TFeature? Get<TFeature>() => this[typeof(TFeature)] is TFeature feature ? feature : default;

    public void Set<TFeature>(TFeature? instance) => this[typeof(TFeature)] = instance;

    public IEnumerator<KeyValuePair<Type, object>> GetEnumerator() => _items.Take(_count).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
