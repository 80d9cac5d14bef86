using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Commands;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy.Clients;

/// <summary>
/// One client connection. The read loop parses requests and dispatches each one; every request joins the
/// session's reply queue in arrival order, and replies are written strictly in that order, whichever server
/// answers first. Only this session's bad input, slowness or disconnect can affect it.
/// </summary>
internal sealed partial class ClientSession : Backends.IReplyOwner, Transport.IReadableOwner, Transport.ITurnWork, Transport.IHeldWrite
{
    private const int ReadChunk = 16 * 1024;
    private const int LargeReadChunk = 256 * 1024;
    private const int KeepBuffer = 64 * 1024;
    private const int SendThreshold = 64 * 1024;
    /// <summary>Redis's client-query-buffer-limit: an unfinished request may not hold more than this.</summary>
    private const long QueryBufferLimit = 1024L * 1024 * 1024;

    private readonly Transport.LoopSocket _connection;
    private readonly PoolRuntime _pool;
    private readonly ILogger _logger;
    // Both rent their arrays only while bytes are in flight: an idle client holds none (see RunAsync and FlushAsync).
    private readonly ByteBuffer _input = ByteBuffer.Lazy(ReadChunk);
    private readonly ByteBuffer _output = ByteBuffer.Lazy(ReadChunk);
    private readonly RequestReader _reader;

    // The reply queue: an intrusive list with a sentinel. The read loop appends at _tail; the flusher advances _head
    // over completed requests. _head is always a request already written (or the initial sentinel).
    private ProxyRequest _head;
    private ProxyRequest _tail;
    private readonly ProxyRequest _sentinel;
    private int _flushSignals;
    // Everything this client holds in the proxy: reply bytes not yet written, and each queued request's own memory;
    // and the server link waiting for it to hold less (a large reply passing through), with how little.
    private long _heldBytes;

    // The read being dispatched: when its bytes arrived and which command is being forwarded (stamped on each request).
    private long _readTimestamp;
    private int _dispatchingCommand;

    private ServerConnection? _touched;
    private volatile bool _closed;
    private volatile bool _closeAfterReplies;
    // Set when a request must wait before it is dispatched (see DeferUntil); the read loop awaits it.
    private Task? _deferred;
    private int _alsoConsumed;
    private int _closedOnce;

    public ClientSession(long id, Transport.LoopSocket connection, PoolRuntime pool, ILogger logger, Transport.PeerAddress peer)
    {
        Id = id;
        _connection = connection;
        _pool = pool;
        _logger = logger;
        _reader = new RequestReader(pool.Limits);
        _sentinel = ProxyRequest.QueueHead(this);
        _head = _tail = _sentinel;
        // The peer's address as accept4 gave it, a value; its text is built when first asked for.
        _remote = peer;
        _lastInteraction = pool.Time.NowMs();
        ConnectedAtMs = _lastInteraction;
        ConnectedAt = pool.Time.GetUtcNow().UtcDateTime;
        IsAuthenticated = pool.Config.RedisAuth is null;
        if (pool.Acl is { } acl) Security.AclGate.Start(this, acl);
    }

    /// <summary>The ACL user this client is, or null (no ACL configured, or not authenticated). Immutable; see AclGate.</summary>
    public Security.AclUser? AclUser;
    /// <summary>The pool's users <see cref="AclUser"/> was found in; another one after a reload makes AclGate look it up again.</summary>
    public Security.PoolAcl? AclSource;

    public long Id { get; }

    /// <summary>
    /// The client's address as CLIENT LIST shows it (addr=), built when asked (CLIENT LIST, a log line) and not kept:
    /// a monitor that lists clients every few seconds would otherwise make every idle connection keep its text.
    /// </summary>
    public string RemoteEndPoint => _remote.ToEndPoint()?.ToString() ?? UnixName();
    /// <summary>The address the client connected to (laddr=), asked of the socket (getsockname) each time, as addr=.</summary>
    public string LocalEndPoint => LocalName();
    private readonly Transport.PeerAddress _remote;

    // Redis names a unix socket client "path:0" in CLIENT LIST; so does Rampart, with its listening socket's path.
    private string UnixName() => _pool.Config.Listen.IsUnix ? _pool.Config.Listen.UnixPath + ":0" : "unix:0";

    private string LocalName()
    {
        if (!_remote.IsIP) return UnixName();
        try { return Transport.SocketIo.LocalEndPoint(_connection.Handle)?.ToString() ?? UnixName(); }
        catch (ObjectDisposedException) { return "closed"; } // asked for the first time after the client left
    }
    /// <summary>When the client connected, on the proxy's TimeProvider (CLIENT LIST's age=).</summary>
    public DateTime ConnectedAt { get; }
    /// <summary>False until AUTH succeeds when the pool has redis_auth (Redis's requirepass semantics, its limits included).</summary>
    public bool IsAuthenticated { get => !_reader.AuthRequired; set => _reader.AuthRequired = !value; }
    public PoolRuntime Pool => _pool;
    /// <summary>
    /// True after HELLO 3 (false again after HELLO 2 or RESET): the client's requests go to the RESP3 lane of shared
    /// connections and to RESP3 dedicated ones, and Rampart's own replies take RESP3's types.
    /// </summary>
    public bool Resp3;
    /// <summary>CLIENT SETNAME, answered by Rampart itself.</summary>
    public string? Name
    {
        get => _rare?.Name;
        set
        {
            if (value is not null || _rare is not null) Rare.Name = value;
        }
    }
    /// <summary>The last command this client sent (CLIENT LIST's cmd=), null before the first or after an unknown one.</summary>
    public Rampart.Protocol.Commands.CommandInfo? LastCommand { get; set; }
    /// <summary>
    /// The pool's <see cref="TimeProviderExtensions.NowMs"/> at the client's last read (CLIENT LIST's idle=, and
    /// <c>client_idle_timeout</c>). Stamped at every socket read: with the system clock that is Environment.TickCount64
    /// behind one reference comparison, as cheap as the raw clock it replaced.
    /// </summary>
    public long LastInteraction => Volatile.Read(ref _lastInteraction);
    private long _lastInteraction;
    public bool IsClosed => _closed;
    /// <summary>True once <see cref="CloseAfterReplies"/> was called.</summary>
    public bool ClosingAfterReplies => _closeAfterReplies;

    /// <summary>
    /// A takeover drain (ProxyServer.Handover.cs): after the next read whose requests are all dispatched, with no
    /// connection state, the session stops reading and closes once those replies are written. The close then
    /// follows a reply at once, so a client that checks its connection before its next request sees it closed at a
    /// request boundary; a request is never read and left unanswered.
    /// </summary>
    public void RequestDrain() => _drainRequested = true;
    private volatile bool _drainRequested;
    public ILogger Logger => _logger;

    /// <summary>
    /// The client's dedicated connection while it has connection state (transaction, WATCH, subscriptions, blocking
    /// call), or once it has taken one whole (CLIENT TRACKING, MONITOR); null on the shared path. Set only by the read loop; cleared by the pin itself, under its lock.
    /// </summary>
    public Pinning.IClientPin? Pin;
    /// <summary>
    /// Set while this client's requests go to a server's detour lane: when it last had nothing in flight, its shared
    /// connection was held by the server or its command would wait for a pause (ConnectionTo). Read
    /// and written on the client's loop only.
    /// </summary>
    public bool OnDetour;
    /// <summary>Cluster pools: the slot-map version this client's requests in flight were routed by (CommandDispatcher).</summary>
    public long RoutingVersion;
    /// <summary>The event loop this client's connection is on; its shared server connections are that loop's.</summary>
    public Transport.EventLoop Loop => _connection.Loop;
    /// <summary>True while a request of this session waits for its reply (read for graceful shutdown).</summary>
    public bool HasPendingReplies => Volatile.Read(ref _head.Next) is not null;

    /// <summary>True while the session holds a read or write buffer (only while bytes are in flight; tests and the docs' sizes).</summary>
    internal bool HoldsBuffers => _input.HoldsArray || _output.HoldsArray;

    /// <summary>True while the read loop is parked: no method waits on the socket, the event loop calls back.</summary>
    internal bool IsParked => _connection.IsParked;

    /// <summary>Bytes this client holds now (replies not yet written, queued requests): what <c>client_output_buffer</c> bounds.</summary>
    public long HeldBytes => Volatile.Read(ref _heldBytes);

    /// <summary>The pool's client_output_buffer, for a server reader pacing a large reply.</summary>
    public long OutputBufferLimit => _pool.Config.ClientOutputBufferLimit;

    /// <summary>Starts serving the accepted connection: it parks at once until the client sends something.</summary>
    public void Start() => _ = RunAsync();

    /// <summary>The parked connection has news (bytes, a hang-up or a close): the read loop runs again, on the loop.</summary>
    void Transport.IReadableOwner.OnReadable() => _ = RunAsync();

    /// <summary>
    /// The read loop. With nothing buffered it gives its buffer back and, on a plain connection, parks
    /// (<see cref="Transport.LoopSocket.ParkUntilReadable"/>) and returns: an idle client holds no buffer and no
    /// suspended method, and the loop starts this method again when bytes come. It completes synchronously on that
    /// path, so a parked client costs no allocation per request. A TLS connection waits with a zero-byte read instead
    /// (its session may hold decrypted bytes the socket no longer shows), which holds this method but no buffer.
    /// </summary>
    private async Task RunAsync()
    {
        bool parked = false;
        try
        {
            while (!_closeAfterReplies)
            {
                if (_input.Length == 0)
                {
                    _input.Release();
                    if (_connection.Tls is null)
                    {
                        if (_connection.ParkUntilReadable(this))
                        {
                            parked = true;
                            return;
                        }
                    }
                    else await _connection.ReceiveAsync(Memory<byte>.Empty);
                }
                int read = await _connection.ReceiveAsync(_input.GetMemory(ReadSize()));
                if (read == 0) _pool.CountClientEof();
                if (read == 0) break;
                // One reading per socket read, shared by its requests: the idle timeout's stamp (LastInteraction), and
                // the raw clock for latency, which decides nothing (StartTimestamp).
                _lastInteraction = _pool.Time.NowMs();
                _input.Advance(read);
                if (!ReferenceEquals(_reader.Limits, _pool.Limits)) _reader.Limits = _pool.Limits; // a reload changed max_request_size
                if (_pool.TimesRequests) _readTimestamp = Stopwatch.GetTimestamp();
                if (_input.Length > QueryBufferLimit)
                {
                    LogQueryLimit(Id, RemoteEndPoint, _input.Length);
                    break;
                }
                ProcessInput();
                FlushTouched();
                while (_deferred is { } wait)
                {
                    // A request waits for earlier replies (a switch to or from a dedicated connection): parsing
                    // resumes at that request once they are out.
                    _deferred = null;
                    await wait;
                    if (_closed) break;
                    ProcessInput();
                    FlushTouched();
                }
                // A takeover drain: this read's requests are all dispatched; their replies go out, then the
                // connection closes right behind them (one volatile read per socket read, nothing else).
                if (_drainRequested && _input.Length == 0 && Pin is null) CloseAfterReplies();
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) // IOException: a TLS record or alert
        {
            if (e is SocketException) _pool.CountClientError();
            // The client went away; nothing to answer.
        }
        catch (Exception e)
        {
            // A bug must cost this one client its connection, never the process.
            LogSessionFault(e, Id);
        }
        finally
        {
            // Parked: the connection lives on, and the next news starts this method again.
            if (!parked)
            {
                _input.Dispose();
                if (!_closeAfterReplies) Close();
            }
        }
    }

    /// <summary>
    /// One read's size: the usual chunk, or more while a large request is arriving (its length is known from its
    /// header), so that a 200 MB value takes hundreds of reads rather than thousands of event-loop turns.
    /// </summary>
    private int ReadSize()
    {
        long missing = _reader.NeededLength - _input.Length;
        return missing <= ReadChunk ? ReadChunk : (int)Math.Min(missing, LargeReadChunk);
    }

    private void ProcessInput()
    {
        while (true)
        {
            var span = _input.Span;
            if (span.Length == 0 || span.Length < _reader.NeededLength) return;
            var status = _reader.TryRead(span, out int consumed);
            if (status == ParseStatus.Incomplete) return;
            if (status == ParseStatus.Error)
            {
                // As Redis: answer the protocol error (its exact bytes), then close once the reply is out.
                var reply = BeginLocal();
                _reader.WriteError(reply.Payload);
                CompleteLocal(reply);
                _pool.CountClientError();
                if (_reader.ErrorWasSizeLimit) _pool.CountRequestTooLarge(this, _reader.Error!);
                CloseAfterReplies();
                return;
            }
            if (_reader.ArgumentCount > 0)
            {
                _sentRequest = true; // auth_timeout: a whole request came (an empty line is none)
                if (!CommandDispatcher.Dispatch(this, new Request(_reader, span), span[..consumed], _reader.IsInline))
                    return; // deferred: not consumed, parsed again when the wait is over
            }
            _input.Consume(consumed);
            if (_alsoConsumed != 0)
            {
                _input.Consume(_alsoConsumed); // the rest of a whole transaction, dispatched with its MULTI
                _alsoConsumed = 0;
            }
            if (_closeAfterReplies || _closed) return;
        }
    }

    /// <summary>Queues a request for a server, in this client's reply order.</summary>
    public void Forward(ServerConnection connection, ProxyRequest request)
    {
        Append(request);
        ForwardPart(connection, request);
    }

    /// <summary>Set by the dispatcher before it forwards: the command every request forwarded next is counted under.</summary>
    public void BeginCommand(int commandId) => _dispatchingCommand = commandId;

    /// <summary>Queues one part of a split command; its parent, not the part, holds the place in the reply order.</summary>
    public void ForwardPart(ServerConnection connection, ProxyRequest request)
    {
        request.CommandId = _dispatchingCommand;
        request.StartTimestamp = _readTimestamp;
        connection.Enqueue(request);
        if (_touched is null || ReferenceEquals(_touched, connection)) _touched = connection;
        else if (Rare.TouchedMore is not { } more) _rare!.TouchedMore = [connection];
        else if (!more.Contains(connection)) more.Add(connection);
    }

    /// <summary>A request slot whose reply Rampart writes itself; finish it with <see cref="CompleteLocal"/>.</summary>
    public ProxyRequest BeginLocal()
    {
        var request = ProxyRequest.Rent(this);
        Append(request);
        return request;
    }

    public void CompleteLocal(ProxyRequest request) => request.MarkCompleted();

    public void ReplyError(string message)
    {
        var request = BeginLocal();
        RespWriter.Error(request.Payload, message);
        CompleteLocal(request);
    }

    /// <summary>
    /// QUIT, protocol errors, and a pool removed by a reload: stop reading, write what is queued, then close (an idle
    /// client at once).
    /// </summary>
    public void CloseAfterReplies()
    {
        _closeAfterReplies = true;
        // The flusher closes the socket once the queue is empty; make sure it looks at least once more.
        OnRequestCompleted(null);
    }

    /// <summary>Received bytes after the request being dispatched (for a MULTI, to find its EXEC).</summary>
    public ReadOnlySpan<byte> InputAfter(int consumed) => _input.Span[consumed..];

    /// <summary>The request being dispatched took <paramref name="count"/> more bytes with it (a whole transaction).</summary>
    public void AlsoConsume(int count) => _alsoConsumed = count;

    /// <summary>A second parser, to look ahead at the requests after the current one.</summary>
    public RequestReader Lookahead => Rare.Lookahead ??= new RequestReader(_pool.Limits);


    public void Close()
    {
        if (Interlocked.Exchange(ref _closedOnce, 1) != 0) return;
        _closed = true;
        ReleaseHeldWaiter();
        _connection.Close();
        Pin?.OnClientClosed();
        ReleaseDrainWaiter();
        _pool.OnSessionClosed(this);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Client {ClientId}: unexpected fault; closing this client only")]
    private partial void LogSessionFault(Exception exception, long clientId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {ClientId} ({Remote}) closed: {Buffered} bytes of an unfinished request, over the 1 GB query buffer limit")]
    private partial void LogQueryLimit(long clientId, string remote, long buffered);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {ClientId} ({Remote}) closed: it holds {Held} bytes of unread replies and queued requests, over client_output_buffer {Limit}")]
    private partial void LogOutputLimit(long clientId, string remote, long held, long limit);
}
