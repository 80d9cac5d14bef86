using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Rampart.Proxy.Transport;

/// <summary>
/// A non-blocking socket on the <see cref="EventLoop"/>. It is registered edge-triggered for reads and writes once,
/// never re-armed: the loop records that the socket became readable (or writable) and completes the read (or wait)
/// that is pending, or keeps the fact for the next one. A read that returns less than its buffer has emptied the
/// socket, so the next read waits for the next event without a syscall; System.Net.Sockets instead tries every read
/// at once and meets EAGAIN about once per request. A read that fills its buffer is followed by another at the next
/// turn (<see cref="EventLoop.ReadAgainNextTurn"/>), since no new edge comes for data already there. A hang-up is
/// reported once too, often in the same event as the peer's last data: it is remembered, and every read after it goes
/// to the socket at once (the rest of the data, then 0), so a server that answers and closes is seen to have closed.
/// A TLS connection (<see cref="UseTls"/>) reads and writes through its <see cref="SslStream"/>, which sits on this
/// socket's plain reads and writes (<see cref="LoopSocketStream"/>): every user of a LoopSocket (client sessions,
/// server links, dedicated connections, the server handshake) speaks TLS without knowing it, and a plain connection
/// pays one null test per read and per write.
/// </summary>
internal sealed class LoopSocket
{
    // States of each direction: nothing known, an operation waiting for the event, or the event seen with none waiting.
    private const int Idle = 0, Pending = 1, Ready = 2;

    // Created at the first read (or write) that has to wait: a client that is parked between requests and whose
    // writes all go out at once never needs either (56 bytes each, times every idle connection).
    private LoopOperation? _read;
    private LoopOperation? _write;
    private int _readState;
    private int _writeState;
    private Memory<byte> _readBuffer;
    // Set while the owner is parked (ParkUntilReadable): the pending read is then a call to it, not an await.
    private IReadableOwner? _parked;
    private int _closed;
    // Set once the peer hung up (or the socket failed): edge-triggered epoll says so once, possibly in the same event
    // as the last data, so it must be remembered, or the read after that data would wait for an edge that never comes.
    private int _hungUp;
    // Set once, after a TLS handshake and before the connection's owner reads or writes; null on a plain connection.
    private SslStream? _tls;

    /// <summary>A .NET socket: a server connection (it connects with <see cref="ConnectAsync"/>), or a test's.</summary>
    public LoopSocket(Socket socket, EventLoop loop)
    {
        Socket = socket;
        Handle = socket.SafeHandle;
        Loop = loop;
        SocketIo.MakeNonBlocking(socket.SafeHandle); // not Socket.Blocking: see SocketIo
    }

    /// <summary>
    /// A descriptor alone, non-blocking already: a client the loop accepted (<see cref="LoopAcceptor"/>), or a
    /// listening socket it accepts on (which it never closes: its listener does).
    /// </summary>
    public LoopSocket(SafeHandle handle, EventLoop loop)
    {
        Handle = handle;
        Loop = loop;
    }

    /// <summary>The .NET socket of a server connection; null for an accepted client, which is only its descriptor.</summary>
    public Socket? Socket { get; }

    /// <summary>The descriptor, for recv, send and the loop's epoll (referenced for each call, never used after its close).</summary>
    public SafeHandle Handle { get; }
    /// <summary>The event loop that watches this socket and runs its completions.</summary>
    public EventLoop Loop { get; }
    /// <summary>The loop's tag for this socket's events (slot and generation).</summary>
    internal ulong Token;
    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>True while an owner is parked (<see cref="ParkUntilReadable"/>) and not yet called back.</summary>
    internal bool IsParked => Volatile.Read(ref _parked) is not null;

    /// <summary>Watches a connected socket (an accepted client).</summary>
    public void Start() => Loop.Register(this);

    /// <summary>Connects to <paramref name="address"/> (an IP or Unix endpoint) and starts watching the socket.</summary>
    public async ValueTask ConnectAsync(EndPoint address, CancellationToken cancel)
    {
        var socket = Socket ?? throw new InvalidOperationException("only a LoopSocket made from a .NET socket connects");
        bool inProgress = false;
        socket.Blocking = false; // .NET's non-blocking connect (servers only: a few sockets pay for its async context)
        try
        {
            socket.Connect(address);
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
        {
            inProgress = true;
        }
        // Registered only now: an unconnected socket reports itself hung up, which is no news about this connect.
        Loop.Register(this);
        if (!inProgress) return;
        using var registration = cancel.Register(Close);
        try
        {
            await WaitWritableAsync();
        }
        catch (ObjectDisposedException) when (cancel.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancel);
        }
        int error = (int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        if (error != 0) throw new SocketException(error);
    }

    /// <summary>The TLS session of this connection, null on a plain one.</summary>
    public SslStream? Tls => _tls;

    /// <summary>From now on reads and writes go through <paramref name="tls"/> (its handshake done over this socket).</summary>
    internal void UseTls(SslStream tls) => _tls = tls;

    /// <summary>
    /// Reads once the socket is readable; 0 at the end of the stream. On a TLS connection: decrypted bytes, and a TLS
    /// failure is an <see cref="IOException"/>.
    /// </summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer) => _tls is null ? ReceivePlainAsync(buffer) : _tls.ReadAsync(buffer);

    /// <summary>The socket's own bytes (what TLS reads its records from).</summary>
    internal ValueTask<int> ReceivePlainAsync(Memory<byte> buffer)
    {
        // A zero-byte read (SslStream's way to wait for data before it rents a buffer) only waits: it must leave the
        // readiness it saw for the real read that follows, or that read would wait for an edge that never comes.
        if (buffer.Length == 0 && (Volatile.Read(ref _readState) == Ready || Volatile.Read(ref _hungUp) != 0)) return new ValueTask<int>(0);
        bool tryHungUp = true;
        while (true)
        {
            int state = Volatile.Read(ref _readState);
            // After a hang-up every read returns at once (the rest of the data, then 0): no event will say so again.
            bool hungUp = tryHungUp && state == Idle && Volatile.Read(ref _hungUp) != 0;
            if (hungUp || (state == Ready && Interlocked.CompareExchange(ref _readState, Idle, Ready) == Ready))
            {
                int read = SocketIo.Receive(Handle, buffer.Span, out var error);
                if (error == SocketError.Success)
                {
                    if (read == buffer.Length && read > 0) MoreMayBeWaiting();
                    return new ValueTask<int>(read);
                }
                if (error != SocketError.WouldBlock) return ValueTask.FromException<int>(new SocketException((int)error));
                tryHungUp = false;
                continue; // emptied since the event: wait for the next one
            }
            _readBuffer = buffer;
            var operation = _read ??= new LoopOperation();
            short token = operation.Prepare();
            if (Interlocked.CompareExchange(ref _readState, Pending, Idle) != Idle) continue;
            if (IsClosed) FailPending(ref _readState, reading: true);
            return new ValueTask<int>(operation, token);
        }
    }

    /// <summary>
    /// Parks the owner until the socket is readable: true when parked, and <paramref name="owner"/> is then called
    /// once, on the loop, when bytes arrive, the peer hangs up or the socket closes; false when bytes (or a hang-up)
    /// are known already, and the owner reads at once. The idle form of a pending read: it holds no buffer and no
    /// suspended async method, which a connection that sends nothing for hours should not hold. Plain sockets only:
    /// a TLS session may hold decrypted bytes the socket no longer shows.
    /// </summary>
    internal bool ParkUntilReadable(IReadableOwner owner)
    {
        while (true)
        {
            if (Volatile.Read(ref _readState) == Ready || Volatile.Read(ref _hungUp) != 0) return false;
            _parked = owner;
            if (Interlocked.CompareExchange(ref _readState, Pending, Idle) != Idle)
            {
                _parked = null;
                continue;
            }
            if (!IsClosed) return true;
            // Closed meanwhile: unpark and let the owner's read fail, unless the close's own FailPending has the
            // owner already (it calls it on the loop). Never called back from here: that would be re-entrant.
            if (Interlocked.CompareExchange(ref _readState, Idle, Pending) != Pending) return true;
            _parked = null;
            return false;
        }
    }

    /// <summary>
    /// A listening socket (<see cref="LoopAcceptor"/>): forgets the readiness the loop saw, before accepting until none
    /// is waiting; a connection that comes after that is a new edge, and a new readiness.
    /// </summary>
    internal void ForgetReadable() => Interlocked.CompareExchange(ref _readState, Idle, Ready);

    /// <summary>
    /// A listening socket's owner goes on at the next turn, after the other sockets' events: parked, and called back
    /// then, as a read that filled its buffer is read again. Loop thread only: the listener's state changes nowhere
    /// else (its events come on this thread, and only its acceptor parks on it).
    /// </summary>
    internal void ContinueNextTurn(IReadableOwner owner)
    {
        _parked = owner;
        Volatile.Write(ref _readState, Pending);
        if (Loop.ReadAgainNextTurn(this)) return;
        // Off the loop thread after all (never by design): unpark, and call the owner on the loop instead.
        _parked = null;
        Volatile.Write(ref _readState, Idle);
        Loop.Post(owner.OnReadable);
    }

    /// <summary>
    /// Writes all of <paramref name="data"/>: at once while the socket takes it, then as room appears. On a TLS
    /// connection: encrypted first; one write at a time, as on a plain one (the bytes would interleave otherwise).
    /// </summary>
    public ValueTask SendAsync(ReadOnlyMemory<byte> data) => _tls is null ? SendPlainAsync(data) : _tls.WriteAsync(data);

    /// <summary>Writes the socket's own bytes (TLS records).</summary>
    internal ValueTask SendPlainAsync(ReadOnlyMemory<byte> data)
    {
        int sent = SendNow(data.Span);
        return sent == data.Length ? default : SendRestAsync(data[sent..]);
    }

    private async ValueTask SendRestAsync(ReadOnlyMemory<byte> rest)
    {
        while (rest.Length > 0)
        {
            await WaitWritableAsync();
            rest = rest[SendNow(rest.Span)..];
        }
    }

    private int SendNow(ReadOnlySpan<byte> data)
    {
        int total = 0;
        while (total < data.Length)
        {
            int sent = SocketIo.Send(Handle, data[total..], out var error);
            if (error == SocketError.Success) total += sent;
            else if (error == SocketError.WouldBlock) break;
            else throw new SocketException((int)error);
        }
        return total;
    }

    private ValueTask WaitWritableAsync()
    {
        while (true)
        {
            if (Volatile.Read(ref _writeState) == Ready && Interlocked.CompareExchange(ref _writeState, Idle, Ready) == Ready)
                return default;
            var operation = _write ??= new LoopOperation();
            short token = operation.Prepare();
            if (Interlocked.CompareExchange(ref _writeState, Pending, Idle) != Idle) continue;
            if (IsClosed) FailPending(ref _writeState, reading: false);
            return new ValueTask(operation, token);
        }
    }

    /// <summary>The loop's news for this socket.</summary>
    internal void OnEvents(uint events)
    {
        if ((events & (Epoll.Hup | Epoll.Err | Epoll.RdHup)) != 0) Volatile.Write(ref _hungUp, 1);
        if ((events & (Epoll.In | Epoll.Hup | Epoll.Err | Epoll.RdHup)) != 0 && Signal(ref _readState)) CompleteRead();
        if ((events & (Epoll.Out | Epoll.Hup | Epoll.Err)) != 0 && Signal(ref _writeState)) _write!.Succeed(0); // pending: its owner created it
    }

    /// <summary>Records an event; true when an operation was pending (it is now the caller's to complete).</summary>
    private static bool Signal(ref int state)
    {
        while (true)
        {
            int current = Volatile.Read(ref state);
            if (current == Pending)
            {
                if (Interlocked.CompareExchange(ref state, Idle, Pending) == Pending) return true;
            }
            else if (current == Ready || Interlocked.CompareExchange(ref state, Ready, Idle) == Idle) return false;
        }
    }

    /// <summary>
    /// A read filled its buffer, so more may be waiting, and no new edge will come for it: on the loop thread the
    /// socket is read again next turn; elsewhere it is marked ready, and the owner's next read runs at once.
    /// </summary>
    private void MoreMayBeWaiting()
    {
        if (!Loop.ReadAgainNextTurn(this)) Interlocked.CompareExchange(ref _readState, Ready, Idle);
    }

    private void CompleteRead()
    {
        if (_parked is { } owner)
        {
            // The owner reads for itself, at once: the readiness stays for that read.
            _parked = null;
            Volatile.Write(ref _readState, Ready);
            owner.OnReadable();
            return;
        }
        var buffer = _readBuffer;
        if (buffer.Length == 0)
        {
            // A zero-byte read waited for data: the data stays for the next read, which must find it at once.
            _readBuffer = default;
            Volatile.Write(ref _readState, Ready);
            _read!.Succeed(0);
            return;
        }
        int read;
        SocketError error;
        try
        {
            read = SocketIo.Receive(Handle, buffer.Span, out error);
        }
        catch (ObjectDisposedException e)
        {
            _read!.Fail(e);
            return;
        }
        if (error == SocketError.WouldBlock)
        {
            // Nothing after all (the event was a write's, or stale): keep waiting. The owner is waiting on this
            // read, so only the loop (this thread) changes the state meanwhile.
            Volatile.Write(ref _readState, Pending);
            return;
        }
        _readBuffer = default;
        if (error != SocketError.Success)
        {
            _read!.Fail(new SocketException((int)error));
            return;
        }
        if (read == buffer.Length && read > 0) MoreMayBeWaiting();
        _read!.Succeed(read);
    }

    /// <summary>
    /// Closes the socket. A read or write wait still pending fails with <see cref="ObjectDisposedException"/>, on the
    /// loop thread, never inline in the caller.
    /// </summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        Loop.Release(this);
        if (Socket is { } socket)
        {
            try { socket.Shutdown(SocketShutdown.Both); } catch (SocketException) { } catch (ObjectDisposedException) { }
            socket.Dispose();
        }
        else
        {
            SocketIo.Shutdown(Handle);
            Handle.Dispose(); // closes the descriptor once no recv or send is using it
        }
        Loop.Post(() =>
        {
            FailPending(ref _readState, reading: true);
            FailPending(ref _writeState, reading: false);
            // After the pending operations failed (their TLS reads and writes end with them): frees the native session.
            _tls?.Dispose();
        });
    }

    private void FailPending(ref int state, bool reading)
    {
        if (Interlocked.CompareExchange(ref state, Idle, Pending) != Pending) return;
        if (reading && _parked is { } owner)
        {
            // A parked owner learns of the close as of any news: its read then fails and it finishes.
            _parked = null;
            owner.OnReadable();
            return;
        }
        // Pending and not parked: the waiting read (or write) created its operation before it said so.
        (reading ? _read : _write)!.Fail(new ObjectDisposedException(nameof(LoopSocket)));
    }

    /// <summary>A read that <paramref name="cancel"/> ends by closing the socket (a handshake's time limit).</summary>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancel)
    {
        using var registration = cancel.Register(Close);
        try { return await ReceiveAsync(buffer); }
        catch (ObjectDisposedException) when (cancel.IsCancellationRequested) { throw new OperationCanceledException(cancel); }
    }

    /// <summary>A write that <paramref name="cancel"/> ends by closing the socket (a handshake's time limit).</summary>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> data, CancellationToken cancel)
    {
        using var registration = cancel.Register(Close);
        try { await SendAsync(data); }
        catch (ObjectDisposedException) when (cancel.IsCancellationRequested) { throw new OperationCanceledException(cancel); }
    }
}
