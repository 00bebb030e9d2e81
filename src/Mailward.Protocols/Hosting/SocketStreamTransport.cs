// A connection of the stream listeners (StreamListeners: IMAP, whose sessions sit idle by the thousand):
// its socket read and written as a stream, with no pipes and no socket engine between it and the
// session: a read the client answers quickly is served by the thread that waited for it, a longer
// wait is the readiness loop's (docs/imap.md, "The IMAP listeners' hosting").
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;
using Mailward.Core.Posix;
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
    private readonly SocketStream _stream;
    private string? _id;
    private IDictionary<object, object?>? _items;
    private IFeatureCollection? _features;
    private int _closed;

    // The owner's list of live connections: two links here, no node per connection.
    internal StreamConnection? Previous;
    internal StreamConnection? Next;

    internal StreamConnection(Socket socket, StreamListeners owner, Func<ConnectionContext, Task> handler, ReplyLinger linger)
    {
        _socket = socket;
        _owner = owner;
        _handler = handler;
        Stream = _stream = new SocketStream(socket, linger); // the socket is closed here (Close), gently, not by whoever disposes the stream
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
        _stream.Abort(); // the loop's event for the shutdown may be dropped with the socket
        _socket.Dispose();
    }

    public override ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 0)
            Close();
        _stream.Forget();
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
/// The socket as a stream, read and written without .NET's socket engine. An operation is tried at
/// once on the non-blocking socket; a read that finds nothing first waits a little on its own thread
/// (<see cref="ReplyLinger"/>: a client that answers quickly is served by the thread that wakes,
/// as a process per connection is), and then hands the wait to the <see cref="ReadinessLoop"/>, which
/// finishes the operation and resumes the session on the thread pool. A zero-byte read (IDLE's wait)
/// completes only when input is there or the client has gone. One read and one write may wait at
/// once (IDLE writes EXISTS while it waits for DONE); the stream holds no buffer of its own.
/// </summary>
internal sealed class SocketStream : Stream, IValueTaskSource<int>, IReadinessTarget
{
    private readonly Socket _socket;
    private readonly int _fd;
    private readonly ReplyLinger _linger;
    private readonly Lock _lock = new();
    private ulong _id; // the readiness loop's number for this socket; 0 until its first wait
    private bool _added; // in the loop's epoll set

    // The waiting read (one at a time): its completion and its buffer (empty: a zero-byte read).
    private WaitCompletion _read = WaitCompletion.Create();
    private Memory<byte> _readBuffer;

    private PendingWrite? _write; // made at the first write the socket's buffer cannot take

    public SocketStream(Socket socket, ReplyLinger linger)
    {
        _socket = socket;
        _fd = (int)socket.Handle;
        _linger = linger;
        socket.Blocking = false; // every call returns at once; waits are polls, here or in the loop
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    // A synchronous read or write would have to block a thread for as long as the client likes:
    // refused always, so a caller that uses one shows in the tests.
    public override void Write(ReadOnlySpan<byte> buffer) => throw SyncRefused();

    public override void Write(byte[] buffer, int offset, int count) => throw SyncRefused();

    public override int Read(Span<byte> buffer) => throw SyncRefused();

    public override int Read(byte[] buffer, int offset, int count) => throw SyncRefused();

    private static NotSupportedException SyncRefused() => new("a connection's stream is read and written asynchronously");

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled<int>(cancellationToken);
        try
        {
            if (buffer.IsEmpty)
            {
                if (InputOrEnd())
                    return new ValueTask<int>(0);
            }
            else
            {
                if (TryReceive(buffer.Span, out var n))
                    return new ValueTask<int>(n);
                if (_linger.Wait(_socket) && TryReceive(buffer.Span, out n))
                    return new ValueTask<int>(n);
                _linger.CountHandedOn();
            }
            lock (_lock)
            {
                _read.Begin(cancellationToken);
                _readBuffer = buffer;
            }
            _read.Watch(static s => ((SocketStream)s!).Cancel(), this);
            Arm();
            return new ValueTask<int>(this, _read.Core.Version);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            return ValueTask.FromException<int>(e as IOException ?? new IOException("Unable to read data from the transport connection: " + e.Message, e));
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
            return ValueTask.FromCanceled(cancellationToken);
        try
        {
            if (TrySend(ref buffer))
                return default;
            return (_write ??= new PendingWrite(this)).Start(buffer, cancellationToken);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            return ValueTask.FromException(e as IOException ?? new IOException("Unable to write data to the transport connection: " + e.Message, e));
        }
    }

    /// <summary>Octets there, or the end (a readable socket with none: the client closed or reset it).</summary>
    private bool InputOrEnd() => _socket.Available > 0 || _socket.Poll(0, SelectMode.SelectRead);

    /// <summary>One non-blocking receive: true with the count (0: the end), false when nothing is there yet.</summary>
    private bool TryReceive(Span<byte> buffer, out int n)
    {
        n = _socket.Receive(buffer, SocketFlags.None, out var error);
        if (error == SocketError.Success)
            return true;
        return error is SocketError.WouldBlock or SocketError.Interrupted ? false
            : throw new IOException("Unable to read data from the transport connection: " + error, new SocketException((int)error));
    }

    /// <summary>Sends what the socket's buffer takes; true when all of it went.</summary>
    private bool TrySend(ref ReadOnlyMemory<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var sent = _socket.Send(buffer.Span, SocketFlags.None, out var error);
            if (error == SocketError.Success)
                buffer = buffer[sent..];
            else if (error is SocketError.WouldBlock or SocketError.Interrupted)
                return false;
            else
                throw new IOException("Unable to write data to the transport connection: " + error, new SocketException((int)error));
        }
        return true;
    }

    /// <summary>Asks the loop to watch for what the waiting operations need (epoll's one-shot: armed again after each event).</summary>
    private void Arm()
    {
        lock (_lock)
        {
            var events = (_read.Waiting ? Epoll.In : 0) | (_write is { Waiting: true } ? Epoll.Out : 0);
            if (events == 0)
                return;
            if (_id == 0)
                _id = ReadinessLoop.Shared.Register(this);
            var error = ReadinessLoop.Shared.Arm(_fd, _id, !_added, events);
            if (error == 0)
            {
                _added = true;
                return;
            }
        }
        // The socket is closed already (EBADF): the waits end now, as they would at the client's close.
        Fail(new IOException("the connection is closed"));
    }

    /// <summary>From the loop's thread: the socket is ready for what was asked (or has an error, or the end).</summary>
    void IReadinessTarget.OnReady()
    {
        int n = 0;
        bool readDone = false, writeDone = false;
        Exception? error = null;
        lock (_lock)
        {
            try
            {
                // Under the lock, so a cancellation cannot end the read while octets go into its buffer.
                if (_read.Waiting && ReadOnce(out n))
                    readDone = ClaimRead();
                if (_write is { Waiting: true } write && write.SendOnce())
                    writeDone = write.Claim();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                error = e as IOException ?? new IOException(e.Message, e);
            }
        }
        if (error is not null)
        {
            Fail(error);
            return;
        }
        if (readDone)
            _read.Finish(n, null);
        if (writeDone)
            _write!.Finish(null);
        Arm(); // what still waits
    }

    /// <summary>Tries the waiting read once: true when it is done, with its count.</summary>
    private bool ReadOnce(out int n)
    {
        n = 0;
        if (_readBuffer.IsEmpty)
            return InputOrEnd(); // woken for octets a read took already: wait again
        return TryReceive(_readBuffer.Span, out n);
    }

    /// <summary>Takes the waiting read for ending it (under the lock): the loop and a cancellation may race for it.</summary>
    private bool ClaimRead()
    {
        if (!_read.Claim())
            return false;
        _readBuffer = default;
        return true;
    }

    private void Cancel()
    {
        var canceled = _read.Canceled();
        bool claimed;
        lock (_lock)
            claimed = ClaimRead();
        if (claimed)
            _read.Finish(0, canceled);
    }

    /// <summary>Ends every waiting operation with the error.</summary>
    private void Fail(Exception error)
    {
        bool read, write;
        lock (_lock)
        {
            read = ClaimRead();
            write = _write?.Claim() ?? false;
        }
        if (read)
            _read.Finish(0, error);
        if (write)
            _write!.Finish(error);
    }

    /// <summary>The connection's abort: what waits ends now with an error.</summary>
    public void Abort() => Fail(new IOException("the connection was aborted"));

    /// <summary>At the connection's end: the loop forgets the socket (the kernel drops it from the set at close).</summary>
    public void Forget()
    {
        if (_id != 0)
            ReadinessLoop.Shared.Forget(_id);
    }

    int IValueTaskSource<int>.GetResult(short token) => _read.Core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.Core.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.Core.OnCompleted(continuation, state, token, flags);

    /// <summary>The write waiting for room in the socket's buffer (a client that reads slowly, or a large FETCH).</summary>
    private sealed class PendingWrite(SocketStream owner) : IValueTaskSource
    {
        private WaitCompletion _wait = WaitCompletion.Create();
        private ReadOnlyMemory<byte> _left;

        /// <summary>Whether a write waits (read under the owner's lock).</summary>
        public bool Waiting => _wait.Waiting;

        public ValueTask Start(ReadOnlyMemory<byte> left, CancellationToken ct)
        {
            lock (owner._lock)
            {
                _wait.Begin(ct);
                _left = left;
            }
            _wait.Watch(static s => ((PendingWrite)s!).Cancel(), this);
            owner.Arm();
            return new ValueTask(this, _wait.Core.Version);
        }

        /// <summary>Sends what now fits (under the owner's lock); true when the rest went.</summary>
        public bool SendOnce() => owner.TrySend(ref _left);

        /// <summary>Takes the waiting write for ending it (under the owner's lock).</summary>
        public bool Claim()
        {
            if (!_wait.Claim())
                return false;
            _left = default;
            return true;
        }

        public void Finish(Exception? error) => _wait.Finish(0, error);

        private void Cancel()
        {
            var canceled = _wait.Canceled();
            bool claimed;
            lock (owner._lock)
                claimed = Claim();
            if (claimed)
                Finish(canceled);
        }

        void IValueTaskSource.GetResult(short token) => _wait.Core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _wait.Core.GetStatus(token);

        void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _wait.Core.OnCompleted(continuation, state, token, flags);
    }
}

/// <summary>
/// A waiting operation: whether one waits, its result, resumed on the thread pool (never on the loop's
/// thread), and the token that may end it first. Begun and claimed under the stream's lock; whoever
/// claims it (the loop, a cancellation, a failure) finishes it, outside the lock.
/// </summary>
internal struct WaitCompletion
{
    public ManualResetValueTaskSourceCore<int> Core;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    public static WaitCompletion Create() => new() { Core = new() { RunContinuationsAsynchronously = true } };

    public bool Waiting { get; private set; }

    public void Begin(CancellationToken ct)
    {
        if (Waiting)
            throw new InvalidOperationException("an operation of this kind is waiting already");
        Core.Reset();
        _token = ct;
        Waiting = true;
    }

    /// <summary>Takes the operation for ending it: false when another did already.</summary>
    public bool Claim()
    {
        if (!Waiting)
            return false;
        Waiting = false;
        return true;
    }

    /// <summary>Hears the token (after <see cref="Begin"/>, outside the lock: an already cancelled token calls back at once).</summary>
    public void Watch(Action<object?> cancel, object state)
    {
        if (_token.CanBeCanceled)
            _registration = _token.UnsafeRegister(cancel, state);
    }

    public readonly OperationCanceledException Canceled() => new(_token);

    public void Finish(int result, Exception? error)
    {
        _registration.Unregister();
        _registration = default;
        _token = default;
        if (error is null)
            Core.SetResult(result);
        else
            Core.SetException(error);
    }
}
