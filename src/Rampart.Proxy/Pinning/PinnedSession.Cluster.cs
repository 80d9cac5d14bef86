using Rampart.Proxy.Backends;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// A blocking call in a Redis Cluster pool follows its slot: sent on a dedicated connection to the node the slot map
/// named, it may be answered <c>-MOVED</c> (the slot moved meanwhile) or <c>-ASK</c> (it is migrating and the key is
/// already on the target). The call was not run; it goes again, on a dedicated connection to the node named (behind an
/// ASKING for an ASK), and the map is patched for a MOVED, as on the shared path (Pools.ClusterRedirects). The client
/// sees only the call's real reply. Only a lone blocking call moves so: a transaction or WATCH is bound to its node.
/// </summary>
internal sealed partial class PinnedSession
{
    private static ReadOnlySpan<byte> Asking => "*1\r\n$6\r\nASKING\r\n"u8;

    /// <summary>True when <paramref name="reply"/> redirected the one blocking call out and it was sent on (under the lock).</summary>
    private bool FollowedRedirect(ReadOnlySpan<byte> reply)
    {
        var pool = _session.Pool;
        if (reply.Length == 0 || reply[0] != (byte)'-' || !pool.Routing.IsCluster || _tx.InMulti || _tx.Watching) return false;
        if (!ClusterRedirect.TryParse(reply, out var redirect)) return false;
        if (!_link.TryTakeOnlyBlockingCall(out var call, out var acks)) return false;
        if (call.Redirections >= Pools.ClusterRedirects.MaxRedirections)
        {
            if (acks is not null) _link.DropWaitReply(acks); // the connection stays: the WAIT's reply is still due
            _link.FailQuietly(call, System.Text.Encoding.UTF8.GetString(reply[1..^2]));
            MaybeRelease();
            return true;
        }
        call.Redirections++;
        var target = RedirectTarget(redirect);
        // Nothing is out on it any more, but the WAIT behind a durable call: cleaning drops its reply.
        _link.GiveBack(asIs: acks is null, inMulti: false, subscribed: false);
        if (!_link.TryRent(target, PinnedUse.BlockingCall, out var error))
        {
            _link.FailQuietly(call, error!);
            MaybeRelease();
            return true;
        }
        if (redirect.IsAsk) _link.SendUnanswered(Asking, replies: 1);
        _link.Enqueue(call, null, null, blocks: true, failWith: null, acks);
        _link.Flush();
        return true;
    }

    /// <summary>
    /// A reply relayed to a RESP3 subscriber (its own transaction on the subscribed connection, which cannot leave its
    /// node) is a MOVED: it reaches the client as Redis sent it (the node flagged the transaction, EXEC aborts, nothing
    /// ran), and the pool's map is patched for the slot, so that what the client sends next goes to the slot's owner.
    /// </summary>
    private void NoteRelayedMoved(ReadOnlySpan<byte> reply)
    {
        if (reply.Length == 0 || reply[0] != (byte)'-' || !_session.Pool.Routing.IsCluster) return;
        if (ClusterRedirect.TryParse(reply, out var redirect) && !redirect.IsAsk) RedirectTarget(redirect);
    }

    /// <summary>
    /// The node a redirect from this pin's node names, counted on that node's stats; a MOVED patches the pool's map
    /// (and asks for a full check), an ASK leaves it. An empty host means the node that answered.
    /// </summary>
    private ServerEndpoint RedirectTarget(ClusterRedirect redirect)
    {
        var from = _link.Server!;
        if (redirect.IsAsk) from.Stats.AddAsked();
        else from.Stats.AddMoved();
        string host = redirect.Host.Length == 0 ? from.Config.Host : redirect.Host;
        return _session.Pool.ClusterServerAt(host, redirect.Port, redirect.IsAsk ? -1 : redirect.Slot);
    }
}
