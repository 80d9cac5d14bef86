using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Commands;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// Subscribed (streaming) mode of a pinned session: which requests the <see cref="SubscriberState"/> forwards on the
/// relayed connection, and which wait for its fence. A RESP3 subscriber (HELLO 3) has a RESP3 dedicated connection:
/// confirmations and messages are push frames, and it may send any command while subscribed, as Redis allows
/// (PinnedSession.Resp3.cs); a RESP2 subscriber only the subscribe family, PING, QUIT, RESET.
/// </summary>
internal sealed partial class PinnedSession
{
    /// <summary>
    /// The SUBSCRIBE family inside MULTI, on either path: refused. Queued, its confirmations would come inside EXEC's
    /// array, where the subscription count could not follow them.
    /// </summary>
    private static string SubscribeInsideMulti(CommandInfo command) => $"ERR rampart: '{command.DisplayName}' inside MULTI is not supported";

    private PinnedResult StartStreaming(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (_tx.InMulti) return AbortWith(SubscribeInsideMulti(command));
        if (command.Name is "unsubscribe" or "punsubscribe" or "sunsubscribe")
        {
            UnsubscribedNothing(_session, command, request);
            return PinnedResult.Done;
        }
        if (_link.InFlight > 0) return Defer();
        if (PinRouting.ChannelServerOf(_session.Pool, command, request, out var server) is { } error)
        {
            _session.ReplyError(error);
            return PinnedResult.Done;
        }
        if (!BindTo(server, PinnedUse.Subscriber)) return PinnedResult.Done;
        if (command.Name == "ssubscribe" && _session.Pool.Routing.IsCluster) KeepShardSubscribe(request, raw, inline);
        _sub.Active = true;
        _sub.Forward(request, raw, inline);
        return PinnedResult.Done;
    }

    private PinnedResult DispatchStreaming(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var command = CommandTable.Find(request.Command);
        if (command is { IsContainer: true } && request.Count >= 2) command = CommandTable.FindSubcommand(command, request[1]) ?? command;
        string name = command?.Name ?? "";
        bool fenced = _sub.Fenced;
        if (command is not null && command.ArityAccepts(request.Count) && PassThroughSession.Wants(command, request))
        {
            // Never on the subscribed connection (it goes back to the pool) nor a shared one.
            if (!fenced) return Fence();
            _session.ReplyError(PassThroughSession.RefusedWhilePinned(command));
            return PinnedResult.Done;
        }
        switch (name)
        {
            case var family when _tx.InMulti && SubscriberState.IsSubscribeFamily(family):
                break; // a RESP3 subscriber's MULTI: refused below (StreamTransaction), as on the request/reply path
            case "ping" or "unsubscribe" or "punsubscribe" or "sunsubscribe" or "":
                // A shard channel moving to another node is not followed once the client ends it (cluster pools).
                if (name == "sunsubscribe" && command!.ArityAccepts(request.Count) && _session.Pool.Routing.IsCluster)
                    _sub.ClientShardUnsubscribe(request);
                // The server answers: its subscribed-mode PING reply, unknown-command error.
                _sub.Forward(request, raw, inline, expectsReply: name is "ping" or "" || !command!.ArityAccepts(request.Count));
                return PinnedResult.Done;
            case "subscribe" or "psubscribe" or "ssubscribe":
                if (command!.ArityAccepts(request.Count) && PinRouting.ChannelServerOf(_session.Pool, command, request, out var server, _link.Server) is null
                    && !ReferenceEquals(server, _link.Server))
                {
                    if (!fenced) return Fence();
                    _session.ReplyError(PinRouting.CrossSlot);
                    return PinnedResult.Done;
                }
                _sub.Forward(request, raw, inline, expectsReply: !command.ArityAccepts(request.Count));
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
            _sub.Forward(request, raw, inline, expectsReply: true);
            return PinnedResult.Done;
        }
        // Anything else is answered by Rampart or runs elsewhere: every earlier reply must be out first.
        if (!fenced) return Fence();
        if (name is "quit")
        {
            // A tracking client's REDIRECT target: the server must see it leave before the client hears +OK, as when
            // Redis runs QUIT itself.
            if (_link.Connection is { NotReusable: true }) Release(clean: false);
            LocalCommands.Answer(_session, command!, request);
            return PinnedResult.Done;
        }
        if (name is "reset")
        {
            Release(clean: false);
            return PinnedResult.Shared;
        }
        bool subscribed = _sub.Channels.Count > 0 || _link.Connection is null;
        if (_resp3 && subscribed) return DispatchSubscribedResp3(request, raw, inline);
        if (subscribed)
        {
            // Redis 7.0's text for a RESP2 client in subscribed mode (server.c, processCommand).
            _session.ReplyError($"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
            return PinnedResult.Done;
        }
        // Unsubscribed from everything: back to request/reply, or off the pin entirely.
        _sub.Active = false;
        MaybeRelease();
        if (_link.Released) return PinnedResult.Shared;
        if (!CommandDispatcher.TryResolve(_session, request, out var resolved)) return PinnedResult.Done;
        return DispatchResolved(resolved, request, raw, inline);
    }

    /// <summary>
    /// Waits for every earlier reply on the subscribed connection to be out (<see cref="SubscriberState.Fence"/>),
    /// then dispatches the request again. <paramref name="force"/>: a new fence even when nothing is outstanding.
    /// </summary>
    private PinnedResult Fence(bool force = false)
    {
        _session.DeferUntil(_sub.Fence(_tx.InMulti, force));
        return PinnedResult.Deferred;
    }

    /// <summary>
    /// Redis's confirmation of an UNSUBSCRIBE family call by a client subscribed to nothing (a RESP3 client gets it as
    /// a push frame with RESP3's null, as from Redis).
    /// </summary>
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
