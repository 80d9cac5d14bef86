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
internal sealed partial class PinnedSession : IPinnedReceiver
{
    private const string ExecAbort = "EXECABORT Transaction discarded because of previous errors.";
    private const string CrossSlot = "CROSSSLOT Keys in request don't hash to the same slot";
    private const int ResubscribeGiveUpMs = 30_000;

    private readonly object _gate = new();
    private readonly ClientSession _session;
    private readonly Queue<(ProxyRequest? Slot, string? ReplaceWith)> _inFlight = new();
    // A transaction in a pool of several servers, before its first key names the server: MULTI and the keyless
    // commands queued so far, answered +OK/+QUEUED by Rampart and sent (replies dropped) once the server is known.
    private ByteBuffer? _held;
    private int _heldCount;
    private ServerEndpoint? _server;
    private PinnedConnection? _conn;
    private bool _released;
    private bool _inMulti;
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
    // PING rampart-fence and its two possible replies (normal and subscribed mode); the same for every session.
    private static readonly byte[] FenceMarker = RespCommand("PING", "rampart-fence");
    private static readonly byte[] FenceReply = "$13\r\nrampart-fence\r\n"u8.ToArray();
    private static readonly byte[] FenceReplySubscribed = "*2\r\n$4\r\npong\r\n$13\r\nrampart-fence\r\n"u8.ToArray();

    private PinnedSession(ClientSession session) => _session = session;

    // ---------------------------------------------------------------- entry points (client read loop)

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
        if (command.Name == "multi" && WholeTransaction.TryForward(session, request, raw, inline)) return true;
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
                if (_conn is null && _session.Pool.Routing.Servers.Count == 1 && !BindTo(_session.Pool.Routing.Default))
                {
                    // No connection: MULTI got the reason, and what the client queues after it must not run outside
                    // a transaction either: it gets the reason too, and EXEC answers EXECABORT.
                    _inMulti = _aborted = true;
                    return PinnedResult.Done;
                }
                _inMulti = true;
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
                if (!TryOwner(command, request, out var owner) || !BindTo(owner)) return PinnedResult.Done;
                _watching = true;
                Send(request, raw, inline);
                return PinnedResult.Done;
            case "unwatch":
                if (_inMulti) return QueueInTransaction(command, request, raw, inline);
                if (_conn is null) return Ok();
                _watching = false;
                Send(request, raw, inline);
                return PinnedResult.Done;
            case "subscribe" or "psubscribe" or "ssubscribe" or "unsubscribe" or "punsubscribe" or "sunsubscribe":
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
        if (_conn is null && !BindTo(_session.Pool.Routing.Default))
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
        switch (command.Handling)
        {
            case CommandHandling.Unsupported:
                return AbortWith(command.RefusalMessage!);
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
                if (!BindTo(owner)) return AbortWith(_broken!);
            }
            else if (!ReferenceEquals(owner, _server)) return AbortWith(CrossSlot);
        }
        SendOrHold(request, raw, inline);
        return PinnedResult.Done;
    }

    private PinnedResult OutsideTransaction(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        switch (command.Handling)
        {
            case CommandHandling.Local:
                LocalCommands.Answer(_session, command, request); // ordered by the reply queue; runs nothing on a server
                return PinnedResult.Done;
            case CommandHandling.Unsupported:
                _session.ReplyError(command.RefusalMessage!);
                return PinnedResult.Done;
        }
        bool blocking = command.Handling == CommandHandling.Pinned || command.IsBlockingCall(request);
        if (!blocking && !_watching)
        {
            // Nothing holds the pin any more: once its last reply is in, the client is back on the shared path.
            if (_inFlight.Count > 0) return Defer();
            Release(clean: true);
            return PinnedResult.Shared;
        }
        if (!TryOwner(command, request, out var owner)) return PinnedResult.Done;
        if (_conn is null)
        {
            // A new pin (a blocking call): its connection is the one to the keys' server.
            if (BindTo(owner)) Send(request, raw, inline);
            return PinnedResult.Done;
        }
        if (ReferenceEquals(owner, _server))
        {
            Send(request, raw, inline);
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

    /// <summary>Takes a dedicated connection to <paramref name="server"/> (or checks it is the one held).</summary>
    private bool BindTo(ServerEndpoint server)
    {
        if (_conn is not null)
        {
            if (ReferenceEquals(server, _server)) return true;
            _session.ReplyError(CrossSlot);
            return false;
        }
        var conn = server.Pinned.TryRent(this, out var error);
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
                for (int i = 0; i < _heldCount; i++) _inFlight.Enqueue((null, null));
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

    private void Send(Request request, ReadOnlySpan<byte> raw, bool inline) => Enqueue(NewSlot(request, raw, inline), null, null);

    private ProxyRequest NewSlot(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var slot = ProxyRequest.Rent(_session);
        if (inline) CommandDispatcher.WriteMultibulk(slot.Payload, request);
        else slot.Payload.Write(raw);
        _session.AppendSlot(slot);
        return slot;
    }

    /// <summary>Sends <paramref name="bytes"/> (or the slot's own payload) and waits for one reply into the slot.</summary>
    private void Enqueue(ProxyRequest slot, byte[]? bytes, string? replaceWith)
    {
        var conn = _conn!;
        if (!conn.Send(bytes ?? slot.Payload.Span, flush: false))
        {
            slot.Fail(_broken ?? $"ERR rampart: connection to server {_server!.Endpoint} lost");
            return;
        }
        _inFlight.Enqueue((slot, replaceWith));
    }

    // ---------------------------------------------------------------- pub/sub

    private PinnedResult StartStreaming(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (_inMulti) return AbortWith($"ERR rampart: '{command.DisplayName}' inside MULTI is not supported");
        if (command.Name is "unsubscribe" or "punsubscribe" or "sunsubscribe")
        {
            UnsubscribedNothing(_session, command, request);
            return PinnedResult.Done;
        }
        if (_inFlight.Count > 0) return Defer();
        if (!TryChannelServer(command, request, out var server) || !BindTo(server)) return PinnedResult.Done;
        _streaming = true;
        Forward(request, raw, inline);
        return PinnedResult.Done;
    }

    /// <summary>
    /// Where a subscription lives in a pool of several servers: shard channels (SSUBSCRIBE/SPUBLISH) on the server
    /// their name hashes to, like keys; plain channels and patterns (SUBSCRIBE/PSUBSCRIBE/PUBLISH) on the pool's first
    /// server, the one place where every publisher and every pattern subscriber meet.
    /// </summary>
    private bool TryChannelServer(CommandInfo command, Request request, out ServerEndpoint server)
    {
        if (command.Name == "ssubscribe") return TryOwner(command, request, out server);
        server = _session.Pool.Routing.Default;
        return true;
    }

    private PinnedResult DispatchStreaming(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var command = CommandTable.Find(request.Command);
        if (command is { IsContainer: true } && request.Count >= 2) command = CommandTable.FindSubcommand(command, request[1]) ?? command;
        string name = command?.Name ?? "";
        bool fenced = _forwardSeq == _fencedSeq;
        switch (name)
        {
            case "ping" or "unsubscribe" or "punsubscribe" or "sunsubscribe" or "":
                Forward(request, raw, inline); // the server answers: its subscribed-mode PING reply, unknown-command error
                return PinnedResult.Done;
            case "subscribe" or "psubscribe" or "ssubscribe":
                if (command!.ArityAccepts(request.Count) && TryChannelServerQuiet(command, request, out var server)
                    && !ReferenceEquals(server, _server))
                {
                    if (!fenced) return Fence();
                    _session.ReplyError(CrossSlot);
                    return PinnedResult.Done;
                }
                Forward(request, raw, inline);
                return PinnedResult.Done;
        }
        // Anything else is answered by Rampart or runs elsewhere: every earlier reply must be out first.
        if (!fenced) return Fence();
        if (name is "quit")
        {
            LocalCommands.Answer(_session, command!, request);
            return PinnedResult.Done;
        }
        if (name is "reset")
        {
            Release(clean: false);
            return PinnedResult.Shared;
        }
        if (Channels.Count > 0 || _conn is null)
        {
            // Redis 7.0's text for a RESP2 client in subscribed mode (server.c, processCommand).
            _session.ReplyError($"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
            return PinnedResult.Done;
        }
        // Unsubscribed from everything: back to request/reply, or off the pin entirely.
        _streaming = false;
        MaybeRelease();
        if (_released) return PinnedResult.Shared;
        if (!CommandDispatcher.TryResolve(_session, request, out var resolved)) return PinnedResult.Done;
        return DispatchResolved(resolved, request, raw, inline);
    }

    private bool TryChannelServerQuiet(CommandInfo command, Request request, out ServerEndpoint server)
    {
        server = _session.Pool.Routing.Default;
        if (command.Name != "ssubscribe" || _session.Pool.Routing.Servers.Count == 1) return true;
        if (!command.TryGetKeys(request, out var keys)) return false;
        ServerEndpoint? found = null;
        foreach (int index in keys)
        {
            var owner = _session.Pool.Routing.ServerFor(request[index]);
            if (owner is null || (found is not null && !ReferenceEquals(found, owner))) return false;
            found = owner;
        }
        if (found is not null) server = found;
        return true;
    }

    /// <summary>Sends a request whose replies are relayed as they come (subscribed mode): no place in the queue.</summary>
    private void Forward(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        _forwardSeq++;
        if (inline)
        {
            using var encoded = new ByteBuffer(256);
            CommandDispatcher.WriteMultibulk(encoded, request);
            SendStream(encoded.Span);
        }
        else SendStream(raw);
    }

    private void SendStream(ReadOnlySpan<byte> bytes)
    {
        if (_conn is not null && _conn.Send(bytes, flush: false)) return;
        // Reconnecting: it goes after the resubscription.
        (_backlog ??= new ByteBuffer(256)).Write(bytes);
    }

    /// <summary>Sends PING with this session's marker and waits for its reply: every earlier reply is then out.</summary>
    private PinnedResult Fence()
    {
        if (_fence is null)
        {
            _fence = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _fenceSeq = _forwardSeq;
            SendStream(FenceMarker);
        }
        _session.DeferUntil(_fence.Task);
        return PinnedResult.Deferred;
    }

    private void CompleteFence(bool arrived)
    {
        if (_fence is not { } fence) return;
        _fence = null;
        // When the connection died instead, the replies the fence waited for are lost with it.
        _fencedSeq = arrived ? _fenceSeq : _forwardSeq;
        fence.TrySetResult();
    }

    /// <summary>Redis's confirmation of an UNSUBSCRIBE family call by a client subscribed to nothing.</summary>
    private static void UnsubscribedNothing(ClientSession session, CommandInfo command, Request request)
    {
        var reply = session.BeginLocal();
        var kind = command.NameBytes.Span;
        if (request.Count == 1)
        {
            WriteConfirmation(reply.Payload, command.Name, default, isNull: true);
        }
        else
        {
            for (int i = 1; i < request.Count; i++) WriteConfirmation(reply.Payload, command.Name, request[i], isNull: false);
        }
        session.CompleteLocal(reply);
    }

    private static void WriteConfirmation(ByteBuffer output, string kind, ReadOnlySpan<byte> name, bool isNull)
    {
        RespWriter.ArrayHeader(output, 3);
        RespWriter.Bulk(output, kind);
        if (isNull) RespWriter.NullBulk(output);
        else RespWriter.Bulk(output, name);
        RespWriter.Integer(output, 0);
    }

    // ---------------------------------------------------------------- replies (connection reader)

    public void OnReply(PinnedConnection from, ReadOnlySpan<byte> reply)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(from, _conn) || _released) return;
            if (_streaming)
            {
                OnStreamReply(reply);
                return;
            }
            if (!_inFlight.TryDequeue(out var call))
            {
                from.Kill("a reply arrived with no request waiting for it");
                return;
            }
            if (call.Slot is not { } slot)
            {
                MaybeRelease(); // a reply to Rampart's own command (a held MULTI): dropped
                return;
            }
            if (call.ReplaceWith is { } error)
            {
                slot.Payload.Clear();
                RespWriter.Error(slot.Payload, error);
                slot.SetCompletedQuietly();
            }
            else slot.CompleteQuietly(reply);
            _session.AccountReply(slot.Payload.Length);
            _wake = true;
            MaybeRelease();
        }
    }

    private void OnStreamReply(ReadOnlySpan<byte> reply)
    {
        if (_fence is not null && (reply.SequenceEqual(FenceReply) || reply.SequenceEqual(FenceReplySubscribed)))
        {
            CompleteFence(arrived: true);
            return;
        }
        bool confirmation = Channels.Observe(reply);
        if (confirmation && _swallow > 0)
        {
            _swallow--; // the client already had this confirmation, from the connection before the failover
            return;
        }
        if (_relay is null)
        {
            _relay = ProxyRequest.Rent(_session);
            _session.AppendSlot(_relay);
        }
        _relay.Payload.Write(reply);
        _session.AccountReply(reply.Length);
    }

    public void OnReadDone(PinnedConnection from)
    {
        bool wake;
        lock (_gate)
        {
            if (_relay is { } relay)
            {
                _relay = null;
                relay.SetCompletedQuietly();
                _wake = true;
            }
            wake = _wake;
            _wake = false;
        }
        if (wake) _session.WakeFlusher();
    }

    public void OnLost(PinnedConnection from, string error)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(from, _conn) || _released) return;
            _conn = null;
            if (_relay is { } relay)
            {
                _relay = null;
                relay.SetCompletedQuietly();
            }
            if (_streaming)
            {
                CompleteFence(arrived: false);
                _ = ResubscribeAsync(error);
            }
            else
            {
                while (_inFlight.TryDequeue(out var call)) call.Slot?.Fail(error);
                if (_inMulti || _watching) _broken = error;
                MaybeRelease();
            }
        }
        _session.WakeFlusher();
    }

    /// <summary>
    /// The dedicated connection of a subscriber dropped (failover, server restart, killed): subscribe again to the
    /// same channels on a new connection to the server's current address, without the client seeing anything but the
    /// messages published in between missing. Gives up, closing the client, after 30 s without a server.
    /// </summary>
    private async Task ResubscribeAsync(string reason)
    {
        var started = Environment.TickCount64;
        int delay = 50;
        while (true)
        {
            await Task.Delay(delay);
            delay = Math.Min(delay * 2, 500);
            lock (_gate)
            {
                if (_released || _session.IsClosed) return;
                if (_server!.Pinned.IsClosed)
                {
                    // The server left the pool (reload): close the client, whose library reconnects and subscribes
                    // again through the new configuration, rather than wait 30 s for a server that will not return.
                    _session.Close();
                    return;
                }
                var conn = _server.Pinned.TryRent(this, out _);
                if (conn is not null && conn.IsDead) conn = null;
                if (conn is not null)
                {
                    _conn = conn;
                    using var commands = new ByteBuffer(256);
                    _swallow = Channels.WriteResubscribe(commands);
                    if (_backlog is { } backlog)
                    {
                        commands.Write(backlog.Span);
                        backlog.Dispose();
                        _backlog = null;
                    }
                    if (commands.Length > 0) conn.Send(commands.Span); // from a timer: sent now
                    _server.Pinned.CountResubscribe();
                    LogResubscribed(_session.Logger, _session.Id, _server.Endpoint, _swallow, reason);
                    return;
                }
            }
            if (Environment.TickCount64 - started > ResubscribeGiveUpMs)
            {
                LogResubscribeFailed(_session.Logger, _session.Id, _server!.Endpoint, ResubscribeGiveUpMs);
                _session.Close();
                return;
            }
        }
    }

    // ---------------------------------------------------------------- release

    /// <summary>Ends the pin when nothing holds it: no transaction, WATCH, subscription or reply outstanding.</summary>
    private void MaybeRelease()
    {
        if (_released || _inFlight.Count > 0 || _inMulti || _watching || _streaming || _held is not null) return;
        Release(clean: true);
    }

    /// <summary>
    /// Gives the connection back: as it is when clean; after DISCARD/UNWATCH/unsubscribe-all when only its session
    /// state is left; closed when a reply is still outstanding (a blocked call), since its state is then unknown.
    /// </summary>
    private void Release(bool clean)
    {
        if (_released) return;
        _released = true;
        if (ReferenceEquals(_session.Pin, this)) _session.Pin = null;
        CompleteFence(arrived: false);
        _backlog?.Dispose();
        _backlog = null;
        DropHeld();
        var conn = _conn;
        _conn = null;
        if (conn is null) return;
        conn.Flush();
        if (_inFlight.Count > 0)
        {
            conn.Detach();
            conn.Kill("client left with a reply outstanding");
        }
        else if (clean && !_inMulti && !_watching && !_streaming) conn.Server.Pinned.Return(conn);
        else conn.CleanAndReturn(_inMulti, _streaming);
    }

    /// <summary>
    /// Sends what this read's requests queued on the dedicated connection, in one write (called by the client's read
    /// loop once per read, like the shared connections' flush).
    /// </summary>
    public void FlushSends()
    {
        PinnedConnection? conn;
        lock (_gate) conn = _conn;
        conn?.Flush();
    }

    /// <summary>The client disconnected (any thread).</summary>
    public void OnClientClosed()
    {
        lock (_gate) Release(clean: false);
    }

    private static byte[] RespCommand(params string[] args)
    {
        using var output = new ByteBuffer(64);
        RespCommands.Write(output, args);
        return output.Span.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {ClientId}: subscriptions restored on a new connection to {Endpoint} ({Count} channels and patterns) after: {Reason}")]
    private static partial void LogResubscribed(ILogger logger, long clientId, string endpoint, int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {ClientId}: no connection to {Endpoint} for {Ms} ms to restore its subscriptions; closing the client")]
    private static partial void LogResubscribeFailed(ILogger logger, long clientId, string endpoint, int ms);
}
