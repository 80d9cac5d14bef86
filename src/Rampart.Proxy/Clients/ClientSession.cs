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
internal sealed partial class ClientSession : Backends.IReplyOwner
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
    private readonly ByteBuffer _input = new(ReadChunk);
    private readonly ByteBuffer _output = new(ReadChunk);
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
    private TaskCompletionSource? _heldWaiter;
    private long _heldWaitLimit;

    // The read being dispatched: when its bytes arrived and which command is being forwarded (stamped on each request).
    private long _readTimestamp;
    private int _dispatchingCommand;

    private ServerConnection? _touched;
    private List<ServerConnection>? _touchedMore;
    private volatile bool _closed;
    private volatile bool _closeAfterReplies;
    // Set when a request must wait before it is dispatched (see DeferUntil); the read loop awaits it.
    private Task? _deferred;
    private int _alsoConsumed;
    private RequestReader? _lookahead;
    private TaskCompletionSource? _drainWaiter;
    private int _closedOnce;

    public ClientSession(long id, Transport.LoopSocket connection, PoolRuntime pool, ILogger logger)
    {
        Id = id;
        _connection = connection;
        var socket = connection.Socket;
        _pool = pool;
        _logger = logger;
        _reader = new RequestReader(pool.Limits);
        _sentinel = ProxyRequest.Rent(this);
        _head = _tail = _sentinel;
        // Redis names a unix socket client "path:0" in CLIENT LIST; so does Rampart, with its listening socket's path.
        string unix = pool.Config.Listen.IsUnix ? pool.Config.Listen.UnixPath + ":0" : "unix:0";
        RemoteEndPoint = socket.AddressFamily == AddressFamily.Unix ? unix : socket.RemoteEndPoint?.ToString() ?? unix;
        LocalEndPoint = socket.AddressFamily == AddressFamily.Unix ? unix : socket.LocalEndPoint?.ToString() ?? unix;
        _lastInteraction = Environment.TickCount64; // the raw clock of LastInteraction, see there
        ConnectedAt = pool.Time.GetUtcNow().UtcDateTime;
        IsAuthenticated = pool.Config.RedisAuth is null;
    }

    public long Id { get; }
    public string RemoteEndPoint { get; }
    public string LocalEndPoint { get; }
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
    public string? Name { get; set; }
    /// <summary>The last command this client sent (CLIENT LIST's cmd=), null before the first or after an unknown one.</summary>
    public Rampart.Protocol.Commands.CommandInfo? LastCommand { get; set; }
    /// <summary>
    /// Environment.TickCount64 of the client's last read (CLIENT LIST's idle=). Raw, not the TimeProvider: it is read at
    /// every socket read on the hot path, and it only reports (no rule of Rampart's acts on a client's idle time).
    /// </summary>
    public long LastInteraction => Volatile.Read(ref _lastInteraction);
    private long _lastInteraction;
    public bool IsClosed => _closed;
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
    /// <summary>The event loop this client's connection is on; its shared server connections are that loop's.</summary>
    public Transport.EventLoop Loop => _connection.Loop;
    /// <summary>True while a request of this session waits for its reply (read for graceful shutdown).</summary>
    public bool HasPendingReplies => Volatile.Read(ref _head.Next) is not null;

    /// <summary>Bytes this client holds now (replies not yet written, queued requests): what <c>client_output_buffer</c> bounds.</summary>
    public long HeldBytes => Volatile.Read(ref _heldBytes);

    /// <summary>The pool's client_output_buffer, for a server reader pacing a large reply.</summary>
    public long OutputBufferLimit => _pool.Config.ClientOutputBufferLimit;

    public async Task RunAsync()
    {
        try
        {
            while (!_closeAfterReplies)
            {
                int read = await _connection.ReceiveAsync(_input.GetMemory(ReadSize()));
                if (read == 0) _pool.CountClientEof();
                if (read == 0) break;
                // Raw clocks, not the TimeProvider: one reading per socket read on the hot path, shared by its requests;
                // they report idle time and latency and decide nothing (LastInteraction, StartTimestamp).
                _lastInteraction = Environment.TickCount64;
                _input.Advance(read);
                if (_pool.TimesRequests) _readTimestamp = Stopwatch.GetTimestamp();
                if (_input.Length > QueryBufferLimit)
                {
                    LogQueryLimit(Id, RemoteEndPoint, _input.Length);
                    break;
                }
                ProcessInput();
                FlushTouched();
                // A large request made the buffer grow; an idle client keeps only the usual size.
                _input.ShrinkIfEmpty(ReadChunk);
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
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
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
            _input.Dispose();
            if (!_closeAfterReplies) Close();
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
                CloseAfterReplies();
                return;
            }
            if (_reader.ArgumentCount > 0
                && !CommandDispatcher.Dispatch(this, new Request(_reader, span), span[..consumed], _reader.IsInline))
                return; // deferred: not consumed, parsed again when the wait is over
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
        else if (_touchedMore is null) _touchedMore = [connection];
        else if (!_touchedMore.Contains(connection)) _touchedMore.Add(connection);
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
    public RequestReader Lookahead => _lookahead ??= new RequestReader(_pool.Limits);

    /// <summary>A dedicated connection's request joins the reply order (under the pin's lock).</summary>
    public void AppendSlot(ProxyRequest request) => Append(request);

    /// <summary>
    /// A subscriber's relayed bytes join the reply order whatever CLIENT REPLY says: Redis sends pub/sub confirmations
    /// and messages even under OFF or SKIP (the relay leaves out, itself, replies to commands sent while replies were
    /// off: see <see cref="TakeReplySilence"/>). Uses up no SKIP.
    /// </summary>
    public void AppendUnsilenced(ProxyRequest request) => Append(request, honourReplyMode: false);

    /// <summary>
    /// For a request that holds no slot of its own (a subscriber's command relayed in server order): whether its reply
    /// is to be dropped under CLIENT REPLY OFF or SKIP. Uses up a SKIP, as that request is "the next command".
    /// </summary>
    public bool TakeReplySilence()
    {
        if (_replyMode == ReplyMode.On) return false;
        if (_replyMode == ReplyMode.SkipNext) _replyMode = ReplyMode.On;
        return true;
    }

    /// <summary>The request being dispatched waits for <paramref name="wait"/>, then is dispatched again.</summary>
    public void DeferUntil(Task wait) => _deferred = wait;

    /// <summary>The request being dispatched waits until every earlier reply has been written to the client.</summary>
    public void DeferUntilDrained()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _drainWaiter, waiter);
        _deferred = waiter.Task;
        WakeFlusher(); // the flusher looks at the waiter after its next pass
    }

    private void ReleaseDrainWaiter()
    {
        var waiter = Volatile.Read(ref _drainWaiter);
        if (waiter is not null && Interlocked.CompareExchange(ref _drainWaiter, null, waiter) == waiter) waiter.TrySetResult();
    }

    private void Append(ProxyRequest request, bool honourReplyMode = true)
    {
        if (_replyMode != ReplyMode.On && honourReplyMode) MarkSilent(request);
        // A queued request holds memory whatever its reply's size: a client that pipelines small requests and never
        // reads is bounded by the same limit as one that leaves large replies unread. (A large request's own bytes are
        // the query buffer's, bounded like Redis's client-query-buffer-limit, and let go once sent.)
        request.HeldCost = ProxyRequest.HeldBytesWhileQueued(request);
        AccountHeld(request.HeldCost);
        Volatile.Write(ref _tail.Next, request);
        _tail = request;
    }

    private void FlushTouched()
    {
        Pin?.FlushSends();
        if (_touched is null) return;
        _touched.Flush();
        _touched = null;
        if (_touchedMore is null) return;
        foreach (var connection in _touchedMore) connection.Flush();
        _touchedMore.Clear();
    }

    /// <summary>
    /// Called by whoever completes a request (a server reader, or this session for local replies). The first
    /// caller becomes the flusher; later callers only count, and the flusher loops until the count is drained,
    /// so no completion is ever missed and only one thread writes to the socket.
    /// </summary>
    public void OnRequestCompleted(ProxyRequest? request)
    {
        if (request is not null) AccountReply(request.Payload.Length);
        WakeFlusher();
    }

    /// <summary>Counts reply bytes not yet written; a client over <c>client_output_buffer</c> is closed.</summary>
    public void AccountReply(int bytes) => AccountHeld(bytes);

    private void AccountHeld(long bytes)
    {
        long held = Interlocked.Add(ref _heldBytes, bytes);
        if (held > _pool.Config.ClientOutputBufferLimit && !_closed)
        {
            LogOutputLimit(Id, RemoteEndPoint, held, _pool.Config.ClientOutputBufferLimit);
            Close();
        }
    }

    /// <summary>
    /// Completes once this client holds at most <paramref name="bytes"/> (or has closed): the server connection passing
    /// it a large reply waits on this rather than read faster than the client takes the reply.
    /// </summary>
    public Task WhenHeldAtMostAsync(long bytes)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _heldWaitLimit, bytes);
        Volatile.Write(ref _heldWaiter, waiter);
        if (Volatile.Read(ref _heldBytes) <= bytes || _closed) ReleaseHeldWaiter();
        return waiter.Task;
    }

    private void ReleaseHeld(long bytes)
    {
        long held = Interlocked.Add(ref _heldBytes, -bytes);
        if (_heldWaiter is not null && held <= Volatile.Read(ref _heldWaitLimit)) ReleaseHeldWaiter();
    }

    private void ReleaseHeldWaiter() => Interlocked.Exchange(ref _heldWaiter, null)?.TrySetResult();

    public void WakeFlusher()
    {
        if (Interlocked.Increment(ref _flushSignals) == 1) _ = FlushAsync();
    }

    private async Task FlushAsync()
    {
        int observed;
        do
        {
            observed = Volatile.Read(ref _flushSignals);
            try
            {
                while (true)
                {
                    var next = Volatile.Read(ref _head.Next);
                    if (next is null) break;
                    if (!next.IsCompleted)
                    {
                        // A large reply passing through in parts: write what has come so far, then look again.
                        if (!next.IsStreaming) break;
                        int part = next.TakeStreamed(_closed || next.Silent ? null : _output);
                        if (part == 0)
                        {
                            if (next.IsCompleted) continue; // its last part came meanwhile
                            break;
                        }
                        ReleaseHeld(part);
                        if (_output.Length >= SendThreshold) await SendOutputAsync();
                        continue;
                    }
                    int length = next.Payload.Length;
                    if (!_closed && !next.Silent) _output.Write(next.Payload.Span);
                    ReleaseHeld(length + next.HeldCost);
                    var previous = _head;
                    _head = next;
                    // The sentinel is never pooled, so its link to the first request is cut by hand: that request
                    // goes back to the pool and serves other clients, whose buffers this session would keep alive.
                    if (ReferenceEquals(previous, _sentinel)) previous.Next = null;
                    else previous.Return();
                    if (_output.Length >= SendThreshold) await SendOutputAsync();
                }
                if (_output.Length > 0) await SendOutputAsync();
                if (_closeAfterReplies && _head.Next is null) Close();
                if (_drainWaiter is not null && Volatile.Read(ref _head.Next) is null) ReleaseDrainWaiter();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                Close();
                _output.Clear();
            }
        } while (Interlocked.Add(ref _flushSignals, -observed) != 0);
    }

    private async ValueTask SendOutputAsync()
    {
        if (_closed)
        {
            _output.Clear();
            return;
        }
        await _connection.SendAsync(_output.Memory);
        _output.Clear();
        _output.ShrinkIfEmpty(KeepBuffer);
    }

    /// <summary>CLIENT REPLY: whether this client's replies are written (On), dropped (Off), or the next one dropped.</summary>
    public enum ReplyMode : byte { On, Off, SkipNext }

    private ReplyMode _replyMode;

    /// <summary>
    /// CLIENT REPLY ON/OFF/SKIP, called while the CLIENT REPLY request itself is the newest in the queue: OFF and SKIP
    /// are not answered (as in Redis), so that request is dropped too. Each request keeps its place in the queue and
    /// is still sent and completed; only writing its reply is skipped, so ordering is untouched.
    /// </summary>
    public void SetReplyMode(ProxyRequest current, ReplyMode mode)
    {
        if (mode == ReplyMode.SkipNext && _replyMode == ReplyMode.Off) return; // Redis: SKIP while OFF changes nothing
        current.Silent = mode != ReplyMode.On;
        _replyMode = mode;
    }

    /// <summary>
    /// RESET: replies back on, its own included, as Redis does. A SKIP before the RESET still drops the RESET's reply
    /// (Redis turned it into "skip this command" before running it).
    /// </summary>
    public void ResetReplyMode(ProxyRequest current)
    {
        if (_replyMode != ReplyMode.Off) return;
        _replyMode = ReplyMode.On;
        current.Silent = false;
    }

    private void MarkSilent(ProxyRequest request)
    {
        request.Silent = true;
        if (_replyMode == ReplyMode.SkipNext) _replyMode = ReplyMode.On;
    }

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
