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

    private static bool IsSubscribeFamily(string name) =>
        name is "subscribe" or "psubscribe" or "ssubscribe" or "unsubscribe" or "punsubscribe" or "sunsubscribe";

    /// <summary>
    /// The SUBSCRIBE family inside MULTI, on either path: refused. Queued, its confirmations would come inside EXEC's
    /// array, where the subscription count could not follow them.
    /// </summary>
    private static string SubscribeInsideMulti(CommandInfo command) => $"ERR rampart: '{command.DisplayName}' inside MULTI is not supported";

    private PinnedResult StartStreaming(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (_inMulti) return AbortWith(SubscribeInsideMulti(command));
        if (command.Name is "unsubscribe" or "punsubscribe" or "sunsubscribe")
        {
            UnsubscribedNothing(_session, command, request);
            return PinnedResult.Done;
        }
        if (_inFlight.Count > 0) return Defer();
        if (!TryChannelServer(command, request, out var server) || !BindTo(server, PinnedUse.Subscriber)) return PinnedResult.Done;
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
        if (command is not null && command.ArityAccepts(request.Count) && PassThroughSession.Wants(command, request))
        {
            // Never on the subscribed connection (it goes back to the pool) nor a shared one.
            if (!fenced) return Fence();
            _session.ReplyError(PassThroughSession.RefusedWhilePinned(command));
            return PinnedResult.Done;
        }
        switch (name)
        {
            case var family when _inMulti && IsSubscribeFamily(family):
                break; // a RESP3 subscriber's MULTI: refused below (StreamTransaction), as on the request/reply path
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
            // A tracking client's REDIRECT target: the server must see it leave before the client hears +OK, as when
            // Redis runs QUIT itself.
            if (_conn is { NotReusable: true }) Release(clean: false);
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
    /// <paramref name="expectsReply"/>: the server answers it with one reply that is not a push (replies are counted,
    /// so those lost with the connection can be answered with an error, and numbered, so that one sent under CLIENT
    /// REPLY OFF/SKIP is left out of the relay).
    /// </summary>
    private void Forward(Request request, ReadOnlySpan<byte> raw, bool inline, bool expectsReply = false)
    {
        _forwardSeq++;
        // Each relayed request is "the next command" for CLIENT REPLY SKIP, as in Redis, whether it gets a reply or not.
        bool silent = _session.TakeReplySilence();
        if (expectsReply)
        {
            _repliesDue++;
            if (silent) (_silentReplies ??= new Queue<long>()).Enqueue(_repliesDue);
        }
        bool counted = expectsReply;
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
