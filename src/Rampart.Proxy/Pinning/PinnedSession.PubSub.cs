using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Commands;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// Subscribed (streaming) mode of a pinned session: the dedicated connection relayed in server order. A RESP3
/// subscriber (HELLO 3) has a RESP3 dedicated connection: confirmations and messages are push frames, and it may send
/// any command while subscribed, as Redis allows (a RESP2 subscriber only the subscribe family, PING, QUIT, RESET).
/// </summary>
internal sealed partial class PinnedSession
{
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
            case "subscribe" or "psubscribe" or "ssubscribe" or "unsubscribe" or "punsubscribe" or "sunsubscribe" when _inMulti:
                // A RESP3 subscriber's MULTI: refused below as on the request/reply path. Queued, its confirmations
                // would come inside EXEC's array, where the subscription count could not follow them.
                break;
            case "ping" or "unsubscribe" or "punsubscribe" or "sunsubscribe" or "":
                // The server answers: its subscribed-mode PING reply, unknown-command error.
                Forward(request, raw, inline, expectsReply: name is "ping" or "" || !command!.ArityAccepts(request.Count));
                return PinnedResult.Done;
            case "subscribe" or "psubscribe" or "ssubscribe":
                if (command!.ArityAccepts(request.Count) && TryChannelServerQuiet(command, request, out var server)
                    && !ReferenceEquals(server, _server))
                {
                    if (!fenced) return Fence();
                    _session.ReplyError(CrossSlot);
                    return PinnedResult.Done;
                }
                Forward(request, raw, inline, expectsReply: !command.ArityAccepts(request.Count));
                return PinnedResult.Done;
        }
        if (_resp3 && command is not null && StreamTransaction(command, request, raw, inline, fenced) is { } handled) return handled;
        if (_resp3 && command is not null && RunsOnSubscribedConnection(command, request))
        {
            // RESP3: a command for this connection's server goes on it, its reply relayed among the pushes in order.
            // After a command sent on the shared path (which may touch this server too), it waits for that reply.
            if (_sharedLaneUsed)
            {
                if (_session.HasPendingReplies) return Defer();
                _sharedLaneUsed = false;
            }
            _session.LastCommand = command;
            Forward(request, raw, inline, expectsReply: true);
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
        if (_resp3 && (Channels.Count > 0 || _conn is null)) return DispatchSubscribedResp3(request, raw, inline);
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

    /// <summary>
    /// RESP3, subscribed: a plain forwarded command whose keys all live on the subscribed connection's server (any
    /// command in a pool of one server) runs on that connection. Blocking calls do not (below).
    /// </summary>
    private bool RunsOnSubscribedConnection(CommandInfo command, Request request)
    {
        if (command.Handling != CommandHandling.Forward || command.IsContainer && request.Count < 2) return false;
        if (!command.ArityAccepts(request.Count) || command.IsBlockingCall(request)) return false;
        if (_session.Pool.Routing.Servers.Count > 1)
        {
            // Keyless commands and split ones take the shared path, where they are fanned out or split.
            if (command.MultiKeySplittable || !command.TryGetKeys(request, out var keys) || keys.Count == 0) return false;
        }
        return KeysOnSubscribedServer(command, request);
    }

    /// <summary>
    /// RESP3, subscribed: MULTI/EXEC/DISCARD/WATCH/UNWATCH and the commands inside a transaction run on the subscribed
    /// connection, as Redis allows a RESP3 client, when their keys live on its server (keyless ones go with the
    /// transaction); their replies (+OK, +QUEUED, EXEC's array) are relayed among the pushes in order. A command Rampart
    /// must refuse inside MULTI (keys of another server, a command Rampart answers) first sends the in-MULTI fence, an
    /// unknown command whose error both orders the refusal after every earlier reply and flags the transaction on the
    /// server, so EXEC answers Redis's own EXECABORT. Null when the command is not part of a transaction.
    /// </summary>
    private PinnedResult? StreamTransaction(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline, bool fenced)
    {
        string name = command.Name;
        if (name is "quit" or "reset") return null; // as Redis, even inside MULTI: handled below
        bool transactionCommand = name is "multi" or "exec" or "discard" or "watch" or "unwatch";
        if (!_inMulti && !transactionCommand && !(_broken is not null && _watching)) return null;
        if (_broken is not null)
        {
            // The connection that held this MULTI or WATCH was lost (the subscriptions moved to a new one).
            _refusalFenced = false;
            if (!fenced) return Fence();
            var result = DispatchBroken(command, request);
            if (!_inMulti && !_watching) _broken = null;
            return result;
        }
        switch (name)
        {
            case "multi":
                if (!_inMulti)
                {
                    _inMulti = true;
                    _queued = 0;
                }
                Forward(request, raw, inline, expectsReply: true); // nested: the server's own error
                return PinnedResult.Done;
            case "exec" or "discard":
                Forward(request, raw, inline, expectsReply: true); // an aborted one: the server's EXECABORT
                if (_inMulti) _inMulti = _watching = false;
                return PinnedResult.Done;
            case "watch" when !_inMulti:
                if (!KeysOnSubscribedServer(command, request))
                {
                    if (!fenced) return Fence();
                    _session.ReplyError(CrossSlot);
                    return PinnedResult.Done;
                }
                _watching = true;
                Forward(request, raw, inline, expectsReply: true);
                return PinnedResult.Done;
            case "unwatch" when !_inMulti:
                _watching = false;
                Forward(request, raw, inline, expectsReply: true);
                return PinnedResult.Done;
        }
        // Inside MULTI: queued by the server when it may run there, refused (and the transaction flagged) otherwise.
        string? refusal = RefusalInsideMulti(command, request);
        if (refusal is null)
        {
            Forward(request, raw, inline, expectsReply: true);
            _queued++;
            return PinnedResult.Done;
        }
        if (!_refusalFenced)
        {
            _refusalFenced = true; // even with nothing outstanding: the fence is what flags the server's transaction
            return Fence(force: true);
        }
        _refusalFenced = false;
        _session.ReplyError(refusal);
        return PinnedResult.Done;
    }

    /// <summary>The same checks as a transaction on the request/reply path (QueueInTransaction); null when it may be queued.</summary>
    private string? RefusalInsideMulti(CommandInfo command, Request request)
    {
        if (command.Name is "subscribe" or "psubscribe" or "ssubscribe" or "unsubscribe" or "punsubscribe" or "sunsubscribe")
            return $"ERR rampart: '{command.DisplayName}' inside MULTI is not supported";
        switch (command.Handling)
        {
            case CommandHandling.Unsupported:
                return command.RefusalMessage;
            case CommandHandling.Local:
                if (command.Name is "ping" or "echo") return null;
                if (command.Name == "select" && request.Count == 2 && RespNumber.TryParse(request[1], out long db) && db == _session.Pool.Config.RedisDb) return null;
                return $"ERR rampart: '{command.DisplayName}' inside MULTI is not supported (it is answered by rampart, not queued by the server)";
        }
        if (!command.ArityAccepts(request.Count)) return null; // the server answers it and flags the transaction itself
        if (!command.TryGetKeys(request, out var keys)) return KeyErrorMessages.For(command, keys.Error);
        return KeysOnSubscribedServer(command, request) ? null : CrossSlot;
    }

    /// <summary>True when every key of the request lives on the subscribed connection's server (or it has none).</summary>
    private bool KeysOnSubscribedServer(CommandInfo command, Request request)
    {
        var routing = _session.Pool.Routing;
        if (routing.Servers.Count == 1) return ReferenceEquals(routing.Default, _server);
        if (!command.TryGetKeys(request, out var keys)) return false;
        foreach (int index in keys)
            if (!ReferenceEquals(routing.ServerFor(request[index]), _server)) return false;
        return true;
    }

    /// <summary>
    /// RESP3, subscribed, every earlier reply out (fenced): what does not run on the subscribed connection. Commands
    /// Rampart answers are answered; commands for other servers take the shared path (appended under this pin's lock,
    /// so they keep their place among the relayed pushes). A transaction, WATCH or blocking call would need a second
    /// dedicated connection's state while the first stays subscribed: refused with the reason (a blocking call would
    /// hold up the messages behind it).
    /// </summary>
    private PinnedResult DispatchSubscribedResp3(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (!CommandDispatcher.TryResolve(_session, request, out var command)) return PinnedResult.Done;
        switch (command.Handling)
        {
            case CommandHandling.Local:
                if (LocalCommands.ChangesProtocol(_session, command, request))
                    _session.ReplyError(ProtocolSwitchRefused);
                else LocalCommands.Answer(_session, command, request);
                return PinnedResult.Done;
            case CommandHandling.Unsupported:
                _session.ReplyError(command.RefusalMessage!);
                return PinnedResult.Done;
            case CommandHandling.Pinned:
                _session.ReplyError($"ERR rampart: '{command.DisplayName}' is not supported while subscribed: unsubscribe first, or use another connection");
                return PinnedResult.Done;
        }
        if (command.IsBlockingCall(request))
        {
            _session.ReplyError($"ERR rampart: blocking '{command.DisplayName}' is not supported while subscribed: unsubscribe first, or use another connection");
            return PinnedResult.Done;
        }
        CommandDispatcher.Route(_session, command, request, raw, inline);
        _sharedLaneUsed = true;
        return PinnedResult.Done;
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

    /// <summary>
    /// Sends a request whose replies are relayed as they come (subscribed mode): no place in the queue.
    /// <paramref name="expectsReply"/>: the server answers it with one reply that is not a push (a RESP3 connection's
    /// replies are counted, so those lost with the connection can be answered with an error).
    /// </summary>
    private void Forward(Request request, ReadOnlySpan<byte> raw, bool inline, bool expectsReply = false)
    {
        _forwardSeq++;
        bool counted = _resp3 && expectsReply;
        if (inline)
        {
            using var encoded = new ByteBuffer(256);
            CommandDispatcher.WriteMultibulk(encoded, request);
            SendStream(encoded.Span, counted);
        }
        else SendStream(raw, counted);
    }

    private void SendStream(ReadOnlySpan<byte> bytes, bool counted = false)
    {
        if (_conn is not null && _conn.Send(bytes, flush: false))
        {
            if (counted) _streamReplies++;
            return;
        }
        // Reconnecting: it goes after the resubscription.
        (_backlog ??= new ByteBuffer(256)).Write(bytes);
        if (counted) _backlogReplies++;
    }

    /// <summary>Sends PING with this session's marker and waits for its reply: every earlier reply is then out.</summary>
    /// <remarks>
    /// Inside a RESP3 subscriber's MULTI the server would queue a PING: the fence is then an unknown command, whose
    /// error comes back at once and flags the transaction (only refusals, QUIT and RESET fence there).
    /// <paramref name="force"/>: a new fence even when every earlier reply is out.
    /// </remarks>
    private PinnedResult Fence(bool force = false)
    {
        if (_fence is null)
        {
            _fence = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (force) _forwardSeq++;
            _fenceSeq = _forwardSeq;
            SendStream(_inMulti ? FenceMarkerInMulti : FenceMarker);
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
    /// <summary>(A RESP3 client gets it as a push frame with RESP3's null, as from Redis.)</summary>
    private static void UnsubscribedNothing(ClientSession session, CommandInfo command, Request request)
    {
        var reply = session.BeginLocal();
        bool resp3 = session.Resp3;
        if (request.Count == 1)
        {
            WriteConfirmation(reply.Payload, command.Name, default, isNull: true, resp3);
        }
        else
        {
            for (int i = 1; i < request.Count; i++) WriteConfirmation(reply.Payload, command.Name, request[i], isNull: false, resp3);
        }
        session.CompleteLocal(reply);
    }

    private static void WriteConfirmation(ByteBuffer output, string kind, ReadOnlySpan<byte> name, bool isNull, bool resp3)
    {
        if (resp3) RespWriter.PushHeader(output, 3);
        else RespWriter.ArrayHeader(output, 3);
        RespWriter.Bulk(output, kind);
        if (isNull) RespWriter.NullBulk(output, resp3);
        else RespWriter.Bulk(output, name);
        RespWriter.Integer(output, 0);
    }
}
