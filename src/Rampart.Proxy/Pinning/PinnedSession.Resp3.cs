using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Commands;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// A RESP3 subscriber's other commands (HELLO 3 clients may send any command while subscribed, as Redis allows): those
/// for the subscribed connection's server run on it, their replies relayed among the pushes in order; transactions and
/// WATCH too; what Rampart answers or another server runs waits for every earlier reply (the fence).
/// </summary>
internal sealed partial class PinnedSession
{
    /// <summary>
    /// RESP3, subscribed: a plain forwarded command whose keys all live on the subscribed connection's server (any
    /// command in a pool of one server) runs on that connection, except in a cluster pool. Blocking calls do not (below).
    /// </summary>
    private bool RunsOnSubscribedConnection(CommandInfo command, Request request)
    {
        // A cluster pool's shared path follows MOVED and ASK for it; the subscribed connection cannot leave its node
        // (PinnedSession.ShardChannels.cs), so a command sent there after its slot moved would only get the redirect.
        if (_session.Pool.Routing.IsCluster) return false;
        if (_session.Pool.Commands.HandlingOf(command) != CommandHandling.Forward || command.IsContainer && request.Count < 2) return false;
        if (!command.ArityAccepts(request.Count) || command.IsBlockingCall(request)) return false;
        if (!_session.Pool.Routing.IsSingleServer)
        {
            // Keyless commands and split ones take the shared path, where they are fanned out or split.
            if (command.MultiKeySplittable || !command.TryGetKeys(request, out var keys) || keys.Count == 0) return false;
        }
        return PinRouting.KeysOn(_session.Pool, command, request, _link.Server);
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
        if (!_tx.InMulti && !transactionCommand && !(_tx.Broken is not null && _tx.Watching)) return null;
        if (_tx.Broken is not null)
        {
            // The connection that held this MULTI or WATCH was lost (the subscriptions moved to a new one).
            _sub.RefusalFenced = false;
            if (!fenced) return Fence();
            var result = DispatchBroken(command, request);
            if (!_tx.InMulti && !_tx.Watching) _tx.Broken = null;
            return result;
        }
        switch (name)
        {
            case "multi":
                if (!_tx.InMulti)
                {
                    _tx.InMulti = true;
                    _tx.Queued = 0;
                }
                _sub.Forward(request, raw, inline, expectsReply: true); // nested: the server's own error
                return PinnedResult.Done;
            case "exec" or "discard":
                _sub.Forward(request, raw, inline, expectsReply: true); // an aborted one: the server's EXECABORT
                if (_tx.InMulti) _tx.End();
                return PinnedResult.Done;
            case "watch" when !_tx.InMulti:
                if (!PinRouting.KeysOn(_session.Pool, command, request, _link.Server))
                {
                    if (!fenced) return Fence();
                    _session.ReplyError(PinRouting.CrossSlot);
                    return PinnedResult.Done;
                }
                _tx.Watching = true;
                _sub.Forward(request, raw, inline, expectsReply: true);
                return PinnedResult.Done;
            case "unwatch" when !_tx.InMulti:
                _tx.Watching = false;
                _sub.Forward(request, raw, inline, expectsReply: true);
                return PinnedResult.Done;
        }
        // Inside MULTI: queued by the server when it may run there, refused (and the transaction flagged) otherwise.
        string? refusal = RefusalInsideMulti(command, request);
        if (refusal is null)
        {
            _sub.Forward(request, raw, inline, expectsReply: true);
            _tx.Queued++;
            return PinnedResult.Done;
        }
        if (!_sub.RefusalFenced)
        {
            _sub.RefusalFenced = true; // even with nothing outstanding: the fence is what flags the server's transaction
            return Fence(force: true);
        }
        _sub.RefusalFenced = false;
        _session.ReplyError(refusal);
        return PinnedResult.Done;
    }

    /// <summary>The same checks as a transaction on the request/reply path (QueueInTransaction); null when it may be queued.</summary>
    private string? RefusalInsideMulti(CommandInfo command, Request request)
    {
        if (SubscriberState.IsSubscribeFamily(command.Name)) return SubscribeInsideMulti(command);
        if (TransactionState.RefusalByHandling(_session, command, request) is { } refusal) return refusal;
        if (!command.ArityAccepts(request.Count)) return null; // the server answers it and flags the transaction itself
        if (!command.TryGetKeys(request, out var keys)) return KeyErrorMessages.For(command, keys.Error);
        return PinRouting.KeysOn(_session.Pool, command, request, _link.Server) ? null : PinRouting.CrossSlot;
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
        var policy = _session.Pool.Commands;
        switch (policy.HandlingOf(command))
        {
            case CommandHandling.Local:
                if (LocalCommands.ChangesProtocol(_session, command, request))
                    _session.ReplyError(ProtocolSwitchRefused);
                else LocalCommands.Answer(_session, command, request);
                return PinnedResult.Done;
            case CommandHandling.Unsupported:
                _session.ReplyError(policy.RefusalOf(command));
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
}
