// A connection of the stream listeners (StreamListeners: IMAP, whose sessions sit idle by the thousand):
// its socket read and written as a NetworkStream, with no pipes, no send or receive loop and no thread-
// pool hop between them and the session (docs/imap.md, "The IMAP listeners' hosting").
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http.Features;

namespace Mailward.Protocols.Hosting;

/// <summary>One accepted connection: its socket as a stream (<see cref="Stream"/>), what the sessions read and write.</summary>
public sealed class StreamConnection : ConnectionContext, IThreadPoolWorkItem
{
    private static long s_lastId;

    /// <summary>Most octets read and dropped at close so unread input does not turn the close into a reset (which can lose the last reply).</summary>
    private const int MaxDrainBytes = 64 * 1024;

    private readonly Socket _socket;
    private readonly StreamListeners _owner;
    private readonly Func<ConnectionContext, Task> _handler;
    private string? _id;
    private IDictionary<object, object?>? _items;
    private IFeatureCollection? _features;
    private int _closed;

    // The owner's list of live connections: two links here, no node per connection.
    internal StreamConnection? Previous;
    internal StreamConnection? Next;

    internal StreamConnection(Socket socket, StreamListeners owner, Func<ConnectionContext, Task> handler)
    {
        _socket = socket;
        _owner = owner;
        _handler = handler;
        Stream = new SocketStream(socket); // closed here (Close), gently, not by whoever disposes the stream
        LocalEndPoint = socket.LocalEndPoint;
        RemoteEndPoint = socket.RemoteEndPoint;
    }

    /// <summary>Queued by the accept loop: the connection is served from the thread pool.</summary>
    void IThreadPoolWorkItem.Execute() => _ = _owner.ServeAsync(this, _handler);

    /// <summary>The socket as a stream: each write is sent at once (callers buffer their replies), each read waits on the socket.</summary>
    public Stream Stream { get; }

    public override string ConnectionId
    {
        get => _id ??= "S" + Interlocked.Increment(ref s_lastId).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        set => _id = value;
    }

    /// <summary>Made when asked for: nothing on the way of a session sets or reads a feature.</summary>
    public override IFeatureCollection Features => _features ??= new FeatureCollection();

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

    /// <summary>The stop's abort (past the host's grace): the socket is shut, so a session's waiting read or write fails at once.</summary>
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
