using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// A transaction or WATCH in a Redis Cluster pool follows its slot while nothing the old node alone remembers would be
/// lost. A request answered <c>-MOVED</c> or <c>-ASK</c> was not run (inside MULTI the node also flagged its
/// transaction). When no WATCH ran before it (the WATCH itself may be the one redirected, alone), everything of the
/// state so far (<see cref="TransactionReplay"/>: MULTI and the commands queued, or the WATCH) goes again, in order, on
/// a dedicated connection to the node named, behind one ASKING for an ASK, with the map patched for a MOVED, followed by
/// the redirected request and every request of the transaction pipelined behind it (taken back from the old connection:
/// the node flagged the transaction at the redirect, so they were only queued or refused there and their EXEC aborts).
/// The old connection goes back after DISCARD/UNWATCH, or is closed when replies are still due on it. The client already
/// has +OK/+QUEUED for what went before, so those replies are dropped; the requests moved are answered in their own
/// places, each run once. Every request out belongs to the one transaction state: one pipelined after an EXEC or DISCARD
/// waits for its reply (see <c>_replayEndOut</c>), and anything else out (a blocking call that began the pin, Rampart's
/// own DISCARD for an aborted EXEC) leaves the redirect to the client, as Redis sent it.
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

    // The requests taken off a connection to follow a redirect together (reused: only under the lock).
    private List<(ProxyRequest Slot, Backends.WriteAcks? Acks, bool Exec)>? _moving;
    // An EXEC or DISCARD is out: what follows waits for its reply (DispatchResolved), so that every request out on
    // the dedicated connection belongs to one transaction state, which can then follow its slot whole.
    private bool _replayEndOut;

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
        // Every request out must be of this transaction state (none from before it: a blocking call that began the pin;
        // none after its EXEC, see DispatchResolved), the redirected one first, each waiting for its reply.
        int outCount = _link.InFlight;
        int first = _replay.Count - outCount;
        if (first < 0 || _replay.HasWatch && outCount > 1 || !_replay.TryBytesBefore(first, out var before)) return false;
        var moving = _moving ??= new List<(ProxyRequest Slot, Backends.WriteAcks? Acks, bool Exec)>(4);
        if (!_link.TryTakeAllRequests(moving)) return false;
        _replay.Redirections++;
        var target = RedirectTarget(redirect);
        if (outCount == 1)
        {
            // Nothing else is out on the old connection: it goes back after DISCARD and UNWATCH (an error when there is
            // no MULTI is harmless there).
            _link.GiveBack(asIs: false, inMulti: true, subscribed: false);
        }
        else
        {
            // Replies are still due on it for the requests pipelined behind: the node flagged the transaction at the
            // redirect, so they were queued or refused, and their EXEC (if sent) aborts there: nothing of it runs there.
            _link.Abandon("its transaction followed a slot move with replies still due");
        }
        if (!_link.TryRent(target, PinnedUse.Transaction, out var error))
        {
            _tx.Broken = error;
            for (int i = 0; i < moving.Count; i++)
                _link.FailQuietly(moving[i].Slot, moving[i].Exec ? ExecAbortError : error!);
            moving.Clear();
            MaybeRelease();
            return true;
        }
        if (redirect.IsAsk)
        {
            _link.AskedSlot = redirect.Slot;
            _link.SendUnanswered(Asking, replies: 1);
        }
        if (first > 0) _link.SendUnanswered(before, first);
        // A durable EXEC keeps its WAIT behind it (the old connection's WAIT reply is dropped with it).
        foreach (var (call, acks, exec) in moving) _link.Enqueue(call, null, null, blocks: false, failWith: null, acks, exec);
        moving.Clear();
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
        _replayEndOut = command?.Name is "exec" or "discard";
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
