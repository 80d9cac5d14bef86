using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Commands;

namespace Rampart.Proxy.Pinning;

/// <summary>What a pinned session did with a request.</summary>
internal enum PinnedResult
{
    /// <summary>Answered or sent; the request is consumed.</summary>
    Done,
    /// <summary>Not consumed: the session waits (see <see cref="ClientSession.DeferUntil"/>) and dispatches it again.</summary>
    Deferred,
    /// <summary>Not consumed: dispatch it on the shared path (the pin ended, or the command does not need it).</summary>
    Shared,
}

/// <summary>
/// A client holding a dedicated server connection while it has connection state: a transaction (MULTI ... EXEC), a
/// WATCH, subscriptions, or a blocking call. Every request of a pinned client comes here first (one branch on the
/// session's <c>Pin</c> field keeps this off the shared path). Two modes:
/// <list type="bullet">
/// <item>request/reply: each request sent on the dedicated connection holds its place in the client's reply queue and
/// is completed by the one reply it gets, exactly as on the shared path;</item>
/// <item>streaming (subscribed): the connection is relayed, every reply and message in server order; a request that
/// Rampart must answer itself first waits for a PING fence, so all earlier replies are out before it.</item>
/// </list>
/// A client never has requests outstanding on two connections at once when switching between the shared path and its
/// dedicated one: the switch waits until every earlier reply is out, so Redis runs its commands in the order sent.
/// All state is guarded by one lock, taken by the client's read loop and by the connection's reader; appends to the
/// client's reply queue happen only under it while the client is pinned.
/// </summary>
internal sealed partial class PinnedSession : IPinnedReceiver, IClientPin
{
    private const string ExecAbort = "EXECABORT Transaction discarded because of previous errors.";
    private const string CrossSlot = "CROSSSLOT Keys in request don't hash to the same slot";
    private const int ResubscribeGiveUpMs = 30_000;
    // A subscriber's tries to subscribe again after its connection dropped: 50 ms doubling to 500 ms.
    private static readonly Backends.Backoff ResubscribeBackoff = new(50, 500);
    private const string ProtocolSwitchRefused = "ERR rampart: HELLO cannot change the protocol while this client holds a dedicated connection (a WATCH, subscriptions or a blocking call): its replies come in the protocol the connection was opened with; end that state first";

    private readonly object _gate = new();
    private readonly ClientSession _session;
    private readonly Queue<(ProxyRequest? Slot, string? ReplaceWith, bool Blocks)> _inFlight = new();
    // Blocking calls sent and not yet answered (CLIENT LIST's b flag); read without the lock by other clients.
    private volatile int _blockedCalls;
    // A transaction in a pool of several servers, before its first key names the server: MULTI and the keyless
    // commands queued so far, answered +OK/+QUEUED by Rampart and sent (replies dropped) once the server is known.
    private ByteBuffer? _held;
    private int _heldCount;
    private ServerEndpoint? _server;
    private PinnedConnection? _conn;
    private bool _released;
    private bool _inMulti;
    private int _queued; // commands queued in the open transaction, for CLIENT LIST's multi=
    private bool _aborted;
    private bool _watching;
    private bool _sharedLaneUsed;
    private string? _broken;
    private bool _wake;

    // Streaming (subscribed) state.
    private bool _streaming;
    private Subscriptions? _subscriptionsOrNull;
    private Subscriptions Channels => _subscriptionsOrNull ??= new Subscriptions();
    private ProxyRequest? _relay;
    private int _swallow;
    private long _forwardSeq;
    private long _fencedSeq;
    private long _fenceSeq;
    private TaskCompletionSource? _fence;
    private ByteBuffer? _backlog;
    // Replies (not pushes) still due for requests sent on the connection, and for those in the backlog.
    private int _streamReplies;
    private int _backlogReplies;
    // The same replies numbered in the order their requests were relayed (due: the last one numbered; done: the last
    // one answered or lost), and the numbers of those sent under CLIENT REPLY OFF/SKIP: the relay leaves them out, as
    // Redis drops them, while every push still goes through (Redis sends those whatever the reply mode).
    private long _repliesDue;
    private long _repliesDone;
    private Queue<long>? _silentReplies;
    // RESP3, subscribed, in MULTI: the refusal being dispatched has had its fence (which flagged the transaction).
    private bool _refusalFenced;
    private static readonly byte[] FenceMarkerInMulti = RespCommand("rampart-fence");
    // PING rampart-fence and its two possible replies (normal and subscribed mode); the same for every session.
    private static readonly byte[] FenceMarker = RespCommand("PING", "rampart-fence");
    private static readonly byte[] FenceReply = "$13\r\nrampart-fence\r\n"u8.ToArray();
    private static readonly byte[] FenceReplySubscribed = "*2\r\n$4\r\npong\r\n$13\r\nrampart-fence\r\n"u8.ToArray();

    // The client's protocol when the pin began: its dedicated connection speaks it (a switch is refused while pinned).
    private readonly bool _resp3;

    private PinnedSession(ClientSession session)
    {
        _session = session;
        _resp3 = session.Resp3;
    }

    // ---------------------------------------------------------------- entry points (client read loop)

    /// <summary>
    /// What CLIENT LIST shows of this client's connection state, as Redis shows it: in MULTI with how many commands
    /// queued, and how many channels, patterns and shard channels it holds. Read without the lock: a snapshot for
    /// people reading CLIENT LIST, never used for a decision.
    /// </summary>
    public (bool InMulti, int Queued, int Channels, int Patterns, int ShardChannels, bool Blocked) Describe()
    {
        var subscriptions = _subscriptionsOrNull;
        return (_inMulti, _queued, subscriptions?.ChannelCount ?? 0, subscriptions?.PatternCount ?? 0,
            subscriptions?.ShardChannelCount ?? 0, _blockedCalls > 0);
    }

    /// <summary>
    /// CLIENT UNBLOCK of this client (called by another client's read loop, without this pin's lock: two pinned
    /// clients unblocking each other must not deadlock): the server and the server-side id of the dedicated connection
    /// a blocking call of this client is out on, or null when it has none. The connection is marked first, so it is
    /// never lent again (<see cref="PinnedConnection.NotReusable"/>): either the mark is seen when the connection is
    /// given back, or the call's end (which comes before any give-back) is seen here and nothing is sent. Both sides
    /// are fenced (the mark by Interlocked, the give-back by the pool's lock).
    /// </summary>
    public (ServerEndpoint Server, long ServerClientId)? MarkForUnblock()
    {
        var conn = Volatile.Read(ref _conn);
        if (conn is null || _blockedCalls == 0) return null;
        conn.MarkNotReusable();
        if (Volatile.Read(ref _released) || _blockedCalls == 0 || !ReferenceEquals(Volatile.Read(ref _conn), conn) || conn.IsDead) return null;
        long id = conn.ServerClientId;
        return id == 0 ? null : (conn.Server, id);
    }

    public long? RedirectTargetOn(ServerEndpoint server)
    {
        lock (_gate)
        {
            if (_released || _conn is not { IsDead: false } conn || !ReferenceEquals(conn.Server, server) || conn.ServerClientId == 0)
                return null;
            conn.MarkNotReusable();
            return conn.ServerClientId;
        }
    }

    /// <summary>A command that needs a dedicated connection, from a client that has none.</summary>
    public static bool Begin(ClientSession session, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        switch (command.Name)
        {
            // Redis's own answers when there is no state to end: no connection needed for them.
            case "exec":
                session.ReplyError("ERR EXEC without MULTI");
                return true;
            case "discard":
                session.ReplyError("ERR DISCARD without MULTI");
                return true;
            case "unwatch":
                var ok = session.BeginLocal();
                RespWriter.SimpleString(ok.Payload, "OK"u8);
                session.CompleteLocal(ok);
                return true;
            case "unsubscribe" or "punsubscribe" or "sunsubscribe":
                UnsubscribedNothing(session, command, request);
                return true;
        }
        // MULTI ... EXEC all here already, nothing Rampart must see between: one request on the shared connection.
        if (command.Name == "multi" && WholeTransaction.TryForward(session, command, request, raw, inline)) return true;
        // Earlier requests of this client may still be on a shared connection: Redis must run them first.
        if (session.HasPendingReplies)
        {
            session.DeferUntilDrained();
            return false;
        }
        var pin = new PinnedSession(session);
        session.Pin = pin;
        lock (pin._gate)
        {
            pin.DispatchResolved(command, request, raw, inline); // a fresh pin has nothing to wait for
            pin.MaybeRelease();
        }
        return true;
    }

    /// <summary>Every request of a pinned client.</summary>
    public PinnedResult Dispatch(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        lock (_gate)
        {
            if (_released) return PinnedResult.Shared;
            PinnedResult result;
            if (_streaming) result = DispatchStreaming(request, raw, inline);
            else if (!CommandDispatcher.TryResolve(_session, request, out var command))
            {
                if (_inMulti) _aborted = true; // Redis flags the transaction: EXEC answers EXECABORT
                result = PinnedResult.Done;
            }
            else result = DispatchResolved(command, request, raw, inline);
            if (result == PinnedResult.Done) MaybeRelease();
            return result;
        }
    }

    private PinnedResult DispatchResolved(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        // Back from the shared path (a WATCHing client's command for another shard): wait until it is answered.
        if (_sharedLaneUsed)
        {
            if (_session.HasPendingReplies) return Defer();
            _sharedLaneUsed = false;
        }
        if (_broken is not null) return DispatchBroken(command, request);
        if (PassThroughSession.Wants(command, request))
        {
            // Sent here, it would leave tracking (or a monitor) on a connection that goes back to the pool.
            if (_inMulti) return AbortWith(PassThroughSession.RefusedWhilePinned(command));
            _session.ReplyError(PassThroughSession.RefusedWhilePinned(command));
            return PinnedResult.Done;
        }
        switch (command.Name)
        {
            case "quit":
                LocalCommands.Answer(_session, command, request);
                return PinnedResult.Done;
            case "reset":
                if (_inFlight.Count > 0) return Defer();
                Release(clean: false);
                return PinnedResult.Shared; // answered by LocalCommands, now that the pin is gone
            case "multi":
                if (_inMulti)
                {
                    if (_conn is null) _session.ReplyError("ERR MULTI calls can not be nested");
                    else Send(request, raw, inline);
                    return PinnedResult.Done;
                }
                // One server: the transaction's connection is known now. Several: the first key will say which.
                if (_conn is null && _session.Pool.Routing.Servers.Count == 1 && !BindTo(_session.Pool.Routing.Default, PinnedUse.Transaction))
                {
                    // No connection: MULTI got the reason, and what the client queues after it must not run outside
                    // a transaction either: it gets the reason too, and EXEC answers EXECABORT.
                    _inMulti = _aborted = true;
                    return PinnedResult.Done;
                }
                _inMulti = true;
                _queued = 0;
                _aborted = false;
                if (_conn is not null) Send(request, raw, inline);
                else
                {
                    Hold(request, raw, inline);
                    Ok();
                }
                return PinnedResult.Done;
            case "exec":
            case "discard":
                return EndTransaction(command, request, raw, inline);
            case "watch":
                if (_inMulti)
                {
                    if (_conn is null) _session.ReplyError("ERR WATCH inside MULTI is not allowed");
                    else Send(request, raw, inline);
                    return PinnedResult.Done;
                }
                if (!TryOwner(command, request, out var owner) || !BindTo(owner, PinnedUse.Transaction)) return PinnedResult.Done;
                _watching = true;
                Send(request, raw, inline);
                return PinnedResult.Done;
            case "unwatch":
                if (_inMulti) return QueueInTransaction(command, request, raw, inline);
                if (_conn is null) return Ok();
                _watching = false;
                Send(request, raw, inline);
                return PinnedResult.Done;
            case var family when IsSubscribeFamily(family):
                return StartStreaming(command, request, raw, inline);
        }
        return _inMulti ? QueueInTransaction(command, request, raw, inline) : OutsideTransaction(command, request, raw, inline);
    }

    private PinnedResult EndTransaction(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        bool exec = command.Name == "exec";
        if (!_inMulti)
        {
            // Only reached with a connection (WATCH); Redis answers, and keeps the WATCH, as it does.
            if (_conn is not null) Send(request, raw, inline);
            else _session.ReplyError(exec ? "ERR EXEC without MULTI" : "ERR DISCARD without MULTI");
            return PinnedResult.Done;
        }
        if (_conn is null && !exec)
        {
            // Nothing reached a server yet: nothing to discard there.
            DropHeld();
            _inMulti = _watching = false;
            return Ok();
        }
        // A transaction of keyless commands only: it runs on the pool's first server.
        if (_conn is null && !BindTo(_session.Pool.Routing.Default, PinnedUse.Transaction))
        {
            _session.ReplyError(_broken!);
            _inMulti = _watching = false;
            return PinnedResult.Done;
        }
        _inMulti = _watching = false;
        if (exec && _aborted)
        {
            // The server queued only what passed Rampart's checks; it must not run a part of the transaction.
            var slot = ProxyRequest.Rent(_session);
            _session.AppendSlot(slot);
            Enqueue(slot, RespCommand("DISCARD"), ExecAbort);
        }
        else Send(request, raw, inline);
        return PinnedResult.Done;
    }

    private PinnedResult QueueInTransaction(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var policy = _session.Pool.Commands;
        switch (policy.HandlingOf(command))
        {
            case CommandHandling.Unsupported:
                return AbortWith(policy.RefusalOf(command));
            case CommandHandling.Local:
                if (command.Name is "ping" or "echo") break;
                if (command.Name == "select" && RespNumber.TryParse(request[1], out long db) && db == _session.Pool.Config.RedisDb) break;
                return AbortWith($"ERR rampart: '{command.DisplayName}' inside MULTI is not supported (it is answered by rampart, not queued by the server)");
        }
        if (!command.TryGetKeys(request, out var keys)) return AbortWith(KeyErrorMessages.For(command, keys.Error));
        if (keys.Count > 0)
        {
            if (!TryOwner(command, request, out var owner, abortOnError: true)) return PinnedResult.Done;
            if (_conn is null)
            {
                if (!BindTo(owner, PinnedUse.Transaction)) return AbortWith(_broken!);
            }
            else if (!ReferenceEquals(owner, _server)) return AbortWith(CrossSlot);
        }
        SendOrHold(request, raw, inline);
        _queued++;
        return PinnedResult.Done;
    }

    private PinnedResult OutsideTransaction(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var policy = _session.Pool.Commands;
        var handling = policy.HandlingOf(command);
        switch (handling)
        {
            case CommandHandling.Local:
                if (_conn is not null && LocalCommands.ChangesProtocol(_session, command, request) && command.Name == "hello")
                    _session.ReplyError(ProtocolSwitchRefused);
                else LocalCommands.Answer(_session, command, request); // ordered by the reply queue; runs nothing on a server
                return PinnedResult.Done;
            case CommandHandling.Unsupported:
                _session.ReplyError(policy.RefusalOf(command));
                return PinnedResult.Done;
        }
        bool blocking = handling == CommandHandling.Pinned || command.IsBlockingCall(request);
        if (!blocking && !_watching)
        {
            // Nothing holds the pin any more: once its last reply is in, the client is back on the shared path.
            if (_inFlight.Count > 0) return Defer();
            Release(clean: true);
            return PinnedResult.Shared;
        }
        if (!TryOwner(command, request, out var owner)) return PinnedResult.Done;
        bool blocks = command.IsBlockingCall(request); // outside MULTI: it may wait on the server
        if (_conn is null)
        {
            // A new pin (a blocking call): its connection is the one to the keys' server.
            if (BindTo(owner, PinnedUse.BlockingCall)) Send(request, raw, inline, blocks);
            return PinnedResult.Done;
        }
        if (ReferenceEquals(owner, _server))
        {
            // A blocking call on the connection of a WATCH (or of replies still due): it counts as one from now on.
            if (blocking && !BindTo(owner, PinnedUse.BlockingCall)) return PinnedResult.Done;
            Send(request, raw, inline, blocks);
            return PinnedResult.Done;
        }
        if (blocking)
        {
            if (_watching)
            {
                _session.ReplyError(CrossSlot);
                return PinnedResult.Done;
            }
            // A blocking call on another server: this pin ends first, then a new one begins.
            if (_inFlight.Count > 0) return Defer();
            Release(clean: true);
            return PinnedResult.Shared;
        }
        // WATCHing, and a command for another server: it goes on the shared path once the dedicated one is quiet.
        if (_inFlight.Count > 0) return Defer();
        _sharedLaneUsed = true;
        return PinnedResult.Shared;
    }

    private PinnedResult DispatchBroken(CommandInfo command, Request request)
    {
        switch (command.Name)
        {
            case "quit":
                LocalCommands.Answer(_session, command, request);
                return PinnedResult.Done;
            case "reset":
                Release(clean: false);
                return PinnedResult.Shared;
            case "exec":
                _session.ReplyError(_inMulti ? ExecAbort : "ERR EXEC without MULTI");
                _inMulti = _watching = false;
                return PinnedResult.Done;
            case "discard":
                if (_inMulti) Ok();
                else _session.ReplyError("ERR DISCARD without MULTI");
                _inMulti = _watching = false;
                return PinnedResult.Done;
            case "unwatch" when !_inMulti:
                _watching = false;
                return Ok();
            case "multi":
                if (_inMulti) _session.ReplyError("ERR MULTI calls can not be nested");
                else
                {
                    _inMulti = _aborted = true;
                    Ok();
                }
                return PinnedResult.Done;
            default:
                if (_inMulti) _aborted = true;
                _session.ReplyError($"{_broken}; the transaction or WATCH it belonged to is dropped");
                return PinnedResult.Done;
        }
    }

    private PinnedResult AbortWith(string error)
    {
        _aborted = true;
        _session.ReplyError(error);
        return PinnedResult.Done;
    }

    private PinnedResult Ok()
    {
        var ok = _session.BeginLocal();
        RespWriter.SimpleString(ok.Payload, "OK"u8);
        _session.CompleteLocal(ok);
        return PinnedResult.Done;
    }

    private PinnedResult Defer()
    {
        _session.DeferUntilDrained();
        return PinnedResult.Deferred;
    }

    /// <summary>
    /// The server owning every key of the request (the pool's first server for a keyless one); false, with the error
    /// replied, when the keys span servers or no server is live.
    /// </summary>
    private bool TryOwner(CommandInfo command, Request request, out ServerEndpoint owner, bool abortOnError = false)
    {
        var routing = _session.Pool.Routing;
        owner = routing.Default;
        if (routing.Servers.Count == 1) return true;
        string? error = null;
        if (!command.TryGetKeys(request, out var keys)) error = KeyErrorMessages.For(command, keys.Error);
        else
        {
            ServerEndpoint? found = null;
            foreach (int index in keys)
            {
                var server = routing.ServerFor(request[index]);
                if (server is null)
                {
                    error = $"ERR rampart: pool '{_session.Pool.Config.Name}' has no live server";
                    break;
                }
                if (found is null) found = server;
                else if (!ReferenceEquals(found, server))
                {
                    error = CrossSlot;
                    break;
                }
            }
            if (error is null && found is not null) owner = found;
        }
        if (error is null) return true;
        if (abortOnError) _aborted = true;
        _session.ReplyError(error);
        return false;
    }

    /// <summary>
    /// Takes a dedicated connection to <paramref name="server"/> for <paramref name="use"/>, or checks it is the one
    /// held and charges it to <paramref name="use"/> if that ranks higher (<see cref="PinnedPool.TryCharge"/>). False
    /// with the error replied (for a new connection, kept as <c>_broken</c> for the rest of a transaction).
    /// </summary>
    private bool BindTo(ServerEndpoint server, PinnedUse use)
    {
        if (_conn is not null)
        {
            if (!ReferenceEquals(server, _server))
            {
                _session.ReplyError(CrossSlot);
                return false;
            }
            if (server.Pinned.TryCharge(_conn, use, out var refused)) return true;
            _session.ReplyError(refused!); // its share is taken: the client keeps its connection and state
            return false;
        }
        var conn = server.Pinned.TryRent(this, _resp3, use, out var error);
        if (conn is not null && conn.IsDead)
        {
            // It failed at once (before it was ours to hear about): the same as no connection.
            conn.Detach();
            error = server.UnavailableReason ?? $"ERR rampart: server {server.Endpoint} unavailable";
            conn = null;
        }
        if (conn is null)
        {
            _broken = error!;
            DropHeld();
            if (!_inMulti && !_watching) _session.ReplyError(error!);
            return false;
        }
        _server = server;
        _conn = conn;
        if (_held is { } held)
        {
            // MULTI and the keyless commands before the first key; the client already has their +OK/+QUEUED. An
            // error here flags the transaction on the server, so EXEC still answers for it (EXECABORT).
            if (conn.Send(held.Span, flush: false))
                for (int i = 0; i < _heldCount; i++) _inFlight.Enqueue((null, null, false));
            DropHeld();
        }
        return true;
    }

    private void Hold(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        _held ??= new ByteBuffer(256);
        if (inline) CommandDispatcher.WriteMultibulk(_held, request);
        else _held.Write(raw);
        _heldCount++;
    }

    private void DropHeld()
    {
        _held?.Dispose();
        _held = null;
        _heldCount = 0;
    }

    /// <summary>A request that waits for the transaction's server to be known (its first key), or goes now.</summary>
    private void SendOrHold(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (_conn is not null)
        {
            Send(request, raw, inline);
            return;
        }
        Hold(request, raw, inline);
        var queued = _session.BeginLocal();
        RespWriter.SimpleString(queued.Payload, "QUEUED"u8);
        _session.CompleteLocal(queued);
    }

    private void Send(Request request, ReadOnlySpan<byte> raw, bool inline, bool blocks = false) =>
        Enqueue(NewSlot(request, raw, inline), null, null, blocks);

    private ProxyRequest NewSlot(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var slot = ProxyRequest.Rent(_session);
        if (inline) CommandDispatcher.WriteMultibulk(slot.Payload, request);
        else slot.Payload.Write(raw);
        _session.AppendSlot(slot);
        return slot;
    }

    /// <summary>Sends <paramref name="bytes"/> (or the slot's own payload) and waits for one reply into the slot.</summary>
    private void Enqueue(ProxyRequest slot, byte[]? bytes, string? replaceWith, bool blocks = false)
    {
        var conn = _conn!;
        if (!conn.Send(bytes ?? slot.Payload.Span, flush: false))
        {
            slot.Fail(_broken ?? $"ERR rampart: connection to server {_server!.Endpoint} lost");
            return;
        }
        _inFlight.Enqueue((slot, replaceWith, blocks));
        if (blocks) _blockedCalls++;
    }
}
