using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// A transaction or WATCH in a Redis Cluster pool follows its slot while nothing the old node alone remembers would be
/// lost. A request answered <c>-MOVED</c> or <c>-ASK</c> was not run (inside MULTI the node also flagged its
/// transaction). When it is the only request out and no WATCH ran before it (the WATCH itself may be the one
/// redirected), everything of the state so far (<see cref="TransactionReplay"/>: MULTI and the commands queued, or the
/// WATCH) goes again, in order, on a dedicated connection to the node named, behind one ASKING for an ASK, with the
/// map patched for a MOVED; the old connection goes back after DISCARD/UNWATCH. The client already has +OK/+QUEUED for
/// what went before, so those replies are dropped, and the redirected request is answered in its own place.
/// </summary>
/// <remarks>
/// ASKING is sent once before MULTI, not before each queued command: Redis keeps the ASKING flag for the whole of a
/// MULTI (resetClient clears it only outside one), and an ASKING sent inside MULTI is itself queued, so it would not
/// flag anything and would add an element to EXEC's array. Outside MULTI (WATCH, or a command between WATCH and MULTI)
/// each request on an asked node gets its own ASKING, as the flag lasts for one command there.
/// With a WATCH that ran on the old node, the watch cannot be carried over: the redirect reaches the client as Redis
/// sends it (-MOVED/-ASK), the node has flagged the transaction, and EXEC answers Redis's EXECABORT; an EXEC itself
/// redirected then gets EXECABORT too (the node discarded the transaction), so a client retries as for any aborted one.
/// </remarks>
internal sealed partial class PinnedSession
{
    private static readonly string ExecAbortError = TransactionState.ExecAbort;

    /// <summary>True when <paramref name="reply"/> redirected a transaction's request out and it was dealt with (under the lock).</summary>
    private bool FollowedTransactionRedirect(ReadOnlySpan<byte> reply)
    {
        var pool = _session.Pool;
        if (_replay.Count == 0 || reply.Length == 0 || reply[0] != (byte)'-' || !pool.Routing.IsCluster) return false;
        if (!ClusterRedirect.TryParse(reply, out var redirect)) return false;
        bool execRedirected = _replayLastIsExec;
        if (_replay.HasWatch && _replay.Count > 1 || _replay.Redirections >= Pools.ClusterRedirects.MaxRedirections)
        {
            // The old node held a watch (or the slot keeps moving): answered as Redis answers, see the remarks.
            if (!execRedirected || !_link.TryTakeOnlyRequest(out var exec, out var execAcks)) return false;
            if (execAcks is not null) _link.DropWaitReply(execAcks);
            _link.FailQuietly(exec, ExecAbortError);
            MaybeRelease();
            return true;
        }
        if (!_link.TryTakeOnlyRequest(out var call, out var acks)) return false;
        _replay.Redirections++;
        var target = RedirectTarget(redirect);
        // Nothing else is out on the old connection: it goes back after DISCARD and UNWATCH (an error when there is
        // no MULTI is harmless there).
        _link.GiveBack(asIs: false, inMulti: true, subscribed: false);
        if (!_link.TryRent(target, PinnedUse.Transaction, out var error))
        {
            _tx.Broken = error;
            _link.FailQuietly(call, error!);
            MaybeRelease();
            return true;
        }
        if (redirect.IsAsk)
        {
            _link.AskedSlot = redirect.Slot;
            _link.SendUnanswered(Asking, replies: 1);
        }
        if (_replay.Count > 1) _link.SendUnanswered(_replay.BeforeLast, _replay.Count - 1);
        _link.Enqueue(call, null, null, blocks: false, failWith: null, acks, exec: execRedirected);
        _link.Flush();
        return true;
    }

    /// <summary>
    /// Records a request sent on the dedicated connection of a cluster pool's transaction state, sending ASKING ahead of
    /// it when the connection's node was reached by an ASK and the node is not inside MULTI (see the remarks above).
    /// </summary>
    private void BeforeClusterSend(ReadOnlySpan<byte> request, CommandInfo? command, bool serverInMulti)
    {
        if (!_session.Pool.Routing.IsCluster) return;
        if (_link.AskedSlot >= 0 && !serverInMulti) _link.SendUnanswered(Asking, replies: 1);
        _replay.Add(request, command?.Name == "watch");
        _replayLastIsExec = command?.Name == "exec";
    }

    /// <summary>
    /// The server a request's keys are on, given the node this connection was asked to: while the slot migrates the map
    /// still names the old node, yet the keys of the asked slot belong on this connection.
    /// </summary>
    private ServerEndpoint OwnerGivenAsk(ServerEndpoint owner, CommandInfo command, Request request)
    {
        if (_link.AskedSlot < 0 || _link.Server is not { } asked || ReferenceEquals(owner, asked)) return owner;
        if (!command.TryGetKeys(request, out var keys) || keys.Count == 0) return owner;
        foreach (int index in keys)
            if (ClusterSlot.Of(request[index]) != _link.AskedSlot) return owner;
        return asked;
    }
}
