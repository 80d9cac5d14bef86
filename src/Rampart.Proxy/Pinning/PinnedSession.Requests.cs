using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Commands;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// Request/reply mode of a pinned session: transactions (MULTI ... EXEC sent command by command), WATCH and blocking
/// calls, each request in its own slot of the client's reply queue, answered by the one reply it gets. Decides per
/// command what the <see cref="TransactionState"/> records and what goes on the <see cref="DedicatedLink"/>.
/// </summary>
internal sealed partial class PinnedSession
{
    private PinnedResult DispatchResolved(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        // Back from the shared path (a WATCHing client's command for another shard): wait until it is answered.
        if (_sharedLaneUsed)
        {
            if (_session.HasPendingReplies) return Defer();
            _sharedLaneUsed = false;
        }
        // Cluster pools: an EXEC or DISCARD out ends its transaction state; the next request waits for its reply, so a
        // redirect never finds requests of two states out together (PinnedSession.ClusterTransaction.cs).
        if (_replayEndOut)
        {
            if (_link.InFlight > 0) return Defer();
            _replayEndOut = false;
        }
        if (_tx.Broken is not null) return DispatchBroken(command, request);
        if (PassThroughSession.Wants(command, request))
        {
            // Sent here, it would leave tracking (or a monitor) on a connection that goes back to the pool.
            if (_tx.InMulti) return AbortWith(PassThroughSession.RefusedWhilePinned(command));
            _session.ReplyError(PassThroughSession.RefusedWhilePinned(command));
            return PinnedResult.Done;
        }
        switch (command.Name)
        {
            case "quit":
                LocalCommands.Answer(_session, command, request);
                return PinnedResult.Done;
            case "reset":
                if (_link.InFlight > 0) return Defer();
                Release(clean: false);
                return PinnedResult.Shared; // answered by LocalCommands, now that the pin is gone
            case "multi":
                if (_tx.InMulti)
                {
                    if (_link.Connection is null) _session.ReplyError("ERR MULTI calls can not be nested");
                    else Send(command, request, raw, inline);
                    return PinnedResult.Done;
                }
                if (!_tx.Watching) _replay.Clear(); // a new transaction state: nothing before it goes again
                // One server: the transaction's connection is known now. Several: the first key will say which.
                if (_link.Connection is null && _session.Pool.Routing.IsSingleServer && !BindTo(_session.Pool.Routing.Default, PinnedUse.Transaction))
                {
                    // No connection: MULTI got the reason, and what the client queues after it must not run outside
                    // a transaction either: it gets the reason too, and EXEC answers EXECABORT.
                    _tx.InMulti = _tx.Aborted = true;
                    return PinnedResult.Done;
                }
                _tx.Begin();
                if (_link.Connection is not null) Send(command, request, raw, inline);
                else
                {
                    _tx.Hold(request, raw, inline);
                    Ok();
                }
                return PinnedResult.Done;
            case "exec":
            case "discard":
                return EndTransaction(command, request, raw, inline);
            case "watch":
                if (_tx.InMulti)
                {
                    if (_link.Connection is null) _session.ReplyError("ERR WATCH inside MULTI is not allowed");
                    else Send(command, request, raw, inline);
                    return PinnedResult.Done;
                }
                if (!TryOwner(command, request, out var owner) || !BindTo(OwnerGivenAsk(owner, command, request), PinnedUse.Transaction)) return PinnedResult.Done;
                if (!_tx.Watching) _replay.Clear();
                _tx.Watching = true;
                Send(command, request, raw, inline);
                return PinnedResult.Done;
            case "unwatch":
                if (_tx.InMulti) return QueueInTransaction(command, request, raw, inline);
                if (_link.Connection is null) return Ok();
                _tx.Watching = false;
                Send(command, request, raw, inline);
                return PinnedResult.Done;
            case var family when SubscriberState.IsSubscribeFamily(family):
                return StartStreaming(command, request, raw, inline);
        }
        return _tx.InMulti ? QueueInTransaction(command, request, raw, inline) : OutsideTransaction(command, request, raw, inline);
    }

    private PinnedResult EndTransaction(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        bool exec = command.Name == "exec";
        if (!_tx.InMulti)
        {
            // Only reached with a connection (WATCH); Redis answers, and keeps the WATCH, as it does.
            if (_link.Connection is not null) Send(command, request, raw, inline);
            else _session.ReplyError(exec ? "ERR EXEC without MULTI" : "ERR DISCARD without MULTI");
            return PinnedResult.Done;
        }
        if (_link.Connection is null && !exec)
        {
            // Nothing reached a server yet: nothing to discard there.
            _tx.DropHeld();
            _tx.End();
            return Ok();
        }
        // A transaction of keyless commands only: it runs on the pool's first server.
        if (_link.Connection is null && !BindTo(_session.Pool.Routing.Default, PinnedUse.Transaction))
        {
            _session.ReplyError(_tx.Broken!);
            _tx.End();
            return PinnedResult.Done;
        }
        _tx.End();
        if (exec && _tx.Aborted)
        {
            // The server queued only what passed Rampart's checks; it must not run a part of the transaction.
            var slot = ProxyRequest.Rent(_session);
            _session.AppendSlot(slot);
            _link.Enqueue(slot, RespCommand("DISCARD"), TransactionState.ExecAbort, blocks: false, _tx.Broken);
        }
        else Send(command, request, raw, inline);
        return PinnedResult.Done;
    }

    private PinnedResult QueueInTransaction(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (TransactionState.RefusalByHandling(_session, command, request) is { } refusal) return AbortWith(refusal);
        if (!command.TryGetKeys(request, out var keys)) return AbortWith(KeyErrorMessages.For(command, keys.Error));
        if (keys.Count > 0)
        {
            if (!TryOwner(command, request, out var owner, abortOnError: true)) return PinnedResult.Done;
            owner = OwnerGivenAsk(owner, command, request);
            if (_link.Connection is null)
            {
                if (!BindTo(owner, PinnedUse.Transaction)) return AbortWith(_tx.Broken!);
            }
            else if (!ReferenceEquals(owner, _link.Server)) return AbortWith(PinRouting.CrossSlot);
        }
        SendOrHold(command, request, raw, inline);
        _tx.Queued++;
        return PinnedResult.Done;
    }

    private PinnedResult OutsideTransaction(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        var policy = _session.Pool.Commands;
        var handling = policy.HandlingOf(command);
        switch (handling)
        {
            case CommandHandling.Local:
                if (_link.Connection is not null && LocalCommands.ChangesProtocol(_session, command, request) && command.Name == "hello")
                    _session.ReplyError(ProtocolSwitchRefused);
                else LocalCommands.Answer(_session, command, request); // ordered by the reply queue; runs nothing on a server
                return PinnedResult.Done;
            case CommandHandling.Unsupported:
                _session.ReplyError(policy.RefusalOf(command));
                return PinnedResult.Done;
        }
        bool blocking = handling == CommandHandling.Pinned || command.IsBlockingCall(request);
        if (!blocking && !_tx.Watching)
        {
            // Nothing holds the pin any more: once its last reply is in, the client is back on the shared path.
            if (_link.InFlight > 0) return Defer();
            Release(clean: true);
            return PinnedResult.Shared;
        }
        if (!TryOwner(command, request, out var owner)) return PinnedResult.Done;
        owner = OwnerGivenAsk(owner, command, request);
        bool blocks = command.IsBlockingCall(request); // outside MULTI: it may wait on the server
        if (_link.Connection is null)
        {
            // A new pin (a blocking call): its connection is the one to the keys' server.
            if (BindTo(owner, PinnedUse.BlockingCall)) Send(command, request, raw, inline, blocks);
            return PinnedResult.Done;
        }
        if (ReferenceEquals(owner, _link.Server))
        {
            // A blocking call on the connection of a WATCH (or of replies still due): it counts as one from now on.
            if (blocking && !BindTo(owner, PinnedUse.BlockingCall)) return PinnedResult.Done;
            Send(command, request, raw, inline, blocks);
            return PinnedResult.Done;
        }
        if (blocking)
        {
            if (_tx.Watching)
            {
                _session.ReplyError(PinRouting.CrossSlot);
                return PinnedResult.Done;
            }
            // A blocking call on another server: this pin ends first, then a new one begins.
            if (_link.InFlight > 0) return Defer();
            Release(clean: true);
            return PinnedResult.Shared;
        }
        // WATCHing, and a command for another server: it goes on the shared path once the dedicated one is quiet.
        if (_link.InFlight > 0) return Defer();
        _sharedLaneUsed = true;
        return PinnedResult.Shared;
    }

    /// <summary>
    /// The connection that held this transaction or WATCH is gone (or none could be had): Redis would have lost the
    /// state with it, so the rest of the transaction gets the reason and EXEC answers EXECABORT.
    /// </summary>
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
                _session.ReplyError(_tx.InMulti ? TransactionState.ExecAbort : "ERR EXEC without MULTI");
                _tx.End();
                return PinnedResult.Done;
            case "discard":
                if (_tx.InMulti) Ok();
                else _session.ReplyError("ERR DISCARD without MULTI");
                _tx.End();
                return PinnedResult.Done;
            case "unwatch" when !_tx.InMulti:
                _tx.Watching = false;
                return Ok();
            case "multi":
                if (_tx.InMulti) _session.ReplyError("ERR MULTI calls can not be nested");
                else
                {
                    _tx.InMulti = _tx.Aborted = true;
                    Ok();
                }
                return PinnedResult.Done;
            default:
                if (_tx.InMulti) _tx.Aborted = true;
                _session.ReplyError($"{_tx.Broken}; the transaction or WATCH it belonged to is dropped");
                return PinnedResult.Done;
        }
    }

    /// <summary>
    /// The server owning every key of the request (the pool's first server for a keyless one); false, with the error
    /// replied (and the transaction flagged when <paramref name="abortOnError"/>), when the keys span servers or no
    /// server is live.
    /// </summary>
    private bool TryOwner(CommandInfo command, Request request, out ServerEndpoint owner, bool abortOnError = false)
    {
        if (PinRouting.OwnerOf(_session.Pool, command, request, out owner) is not { } error) return true;
        if (abortOnError) _tx.Aborted = true;
        _session.ReplyError(error);
        return false;
    }

    /// <summary>
    /// Takes a dedicated connection to <paramref name="server"/> for <paramref name="use"/>, or checks it is the one
    /// held and charges it to <paramref name="use"/> if that ranks higher (<see cref="PinnedPool.TryCharge"/>). False
    /// with the error replied (for a new connection, kept as the transaction's <c>Broken</c> for the rest of it).
    /// </summary>
    private bool BindTo(ServerEndpoint server, PinnedUse use)
    {
        if (_link.Connection is { } held)
        {
            if (!ReferenceEquals(server, _link.Server))
            {
                _session.ReplyError(PinRouting.CrossSlot);
                return false;
            }
            if (server.Pinned.TryCharge(held, use, out var refused)) return true;
            _session.ReplyError(refused!); // its share is taken: the client keeps its connection and state
            return false;
        }
        if (!_link.TryRent(server, use, out var error))
        {
            _tx.Broken = error!;
            _tx.DropHeld();
            if (!_tx.InMulti && !_tx.Watching) _session.ReplyError(error!);
            return false;
        }
        if (_tx.Held is { } commands)
        {
            // MULTI and the keyless commands before the first key; the client already has their +OK/+QUEUED. An
            // error here flags the transaction on the server, so EXEC still answers for it (EXECABORT).
            _link.SendUnanswered(commands.Span, _tx.HeldCount);
            if (_session.Pool.Routing.IsCluster) _replay.AddUnanswered(commands.Span, _tx.HeldCount);
            _tx.DropHeld();
        }
        return true;
    }

    /// <summary>A request that waits for the transaction's server to be known (its first key), or goes now.</summary>
    private void SendOrHold(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (_link.Connection is not null)
        {
            Send(command, request, raw, inline);
            return;
        }
        _tx.Hold(request, raw, inline);
        var queued = _session.BeginLocal();
        RespWriter.SimpleString(queued.Payload, "QUEUED"u8);
        _session.CompleteLocal(queued);
    }

    /// <summary>Sends the request on the dedicated connection, in a new slot of the client's reply queue.</summary>
    private void Send(CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline, bool blocks = false)
    {
        var slot = ProxyRequest.Rent(_session);
        if (inline) CommandDispatcher.WriteMultibulk(slot.Payload, request);
        else slot.Payload.Write(raw);
        _session.AppendSlot(slot);
        string name = command.Name;
        // A cluster pool records its transaction state's requests, to send them again if the slot moves.
        if (_tx.HoldsPin || name is "exec" or "discard")
            BeforeClusterSend(slot.Payload.Span, command, serverInMulti: name is "exec" or "discard" || name != "multi" && _tx.InMulti);
        _link.Enqueue(slot, null, null, blocks, _tx.Broken, DurableAcks(command), exec: name == "exec");
    }

    /// <summary>
    /// With <c>min_replicas_ack</c>, the WAIT that follows a command the server runs now and that may write (EXEC, or
    /// a write or script outside MULTI, as between WATCH and MULTI or a blocking BLMOVE); null otherwise. Queued
    /// commands are not: EXEC runs them, and EXEC's reply is the one held.
    /// </summary>
    private WriteAcks? DurableAcks(CommandInfo command)
    {
        if (!_session.Pool.Config.WritesDurably || _tx.InMulti || !(command.MayWrite || command.Name == "exec")) return null;
        var server = _link.Server!;
        return server.AcksForBatch(server.Time.NowMs());
    }
}
