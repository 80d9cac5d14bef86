using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// A shard subscription follows its slot in a Redis Cluster pool. When the slot leaves the subscriber's node, Redis 7
/// unsubscribes its shard channels and says so ("sunsubscribe"); <see cref="ShardSlotMoves"/> holds that back, and
/// this moves the subscriber to the slot's new owner once the pool's slot map names it (a refresh is asked for at once):
/// every earlier reply on the old connection is let out first (a fence), then the subscriber takes a connection to the
/// new owner, subscribes there again to everything it holds (the confirmations are not shown twice) and gives the old
/// one back unsubscribed. Plain channels and patterns go along: in a cluster every node hears every PUBLISH.
/// Messages published between the slot's move and the new subscription are missed, as across a failover.
/// </summary>
/// <remarks>
/// The subscriber has one connection: when it also holds shard channels of a slot that stayed on the old node, it
/// cannot be on both, and the client gets the held sunsubscribe as Redis sent it (as it does when no map names another
/// owner within <see cref="ShardFollowGiveUpMs"/>, or a transaction is open on the connection all that time).
/// </remarks>
internal sealed partial class PinnedSession
{
    private const int ShardFollowGiveUpMs = 10_000;

    /// <summary>Keeps the SSUBSCRIBE that begins a cluster pool's subscriber, to send it again if it is redirected.</summary>
    private void KeepShardSubscribe(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        if (inline)
        {
            using var encoded = new ByteBuffer(64);
            Commands.CommandDispatcher.WriteMultibulk(encoded, request);
            _sub.ShardSubscribeOut = encoded.Span.ToArray();
        }
        else _sub.ShardSubscribeOut = raw.ToArray();
        _sub.ShardSubscribeRedirects = 0;
        _sub.ShardSubscribeSeq = _sub.ForwardSeq + 1; // it is forwarded next
    }

    /// <summary>
    /// The SSUBSCRIBE that began this subscriber was answered -MOVED (the map was stale): nothing is subscribed yet,
    /// so the subscriber moves to the node named, the map is patched, and it is sent there. The client sees only the
    /// confirmation. Under the lock.
    /// </summary>
    private bool FollowedShardSubscribeRedirect(ReadOnlySpan<byte> reply)
    {
        if (_sub.ShardSubscribeOut is not { } subscribe || reply.Length == 0 || reply[0] != (byte)'-') return false;
        // Only MOVED: a migrating slot's source serves shard channels itself (Redis counts no missing keys for them).
        // Anything the client sent after it went to the old node too, and its reply would be lost with it.
        if (_sub.ForwardSeq != _sub.ShardSubscribeSeq) return false;
        if (_sub.Channels.Count > 0 || !Routing.ClusterRedirect.TryParse(reply, out var redirect) || redirect.IsAsk) return false;
        if (_sub.ShardSubscribeRedirects++ >= Pools.ClusterRedirects.MaxRedirections) return false; // the client sees it
        var target = RedirectTarget(redirect);
        if (!_link.TryMoveTo(target, PinnedUse.Subscriber, out _)) return false; // the client sees the redirect
        _link.TrySend(subscribe);
        _link.Flush();
        return true;
    }

    /// <summary>Starts following moved shard channels when some wait and no task follows them (under the lock).</summary>
    private void FollowShardMovesIfAny()
    {
        if (!_sub.ShardMoveToFollow) return;
        _sub.Moves.Following = true;
        _session.Pool.RefreshSlotMap();
        _ = FollowShardSlotAsync();
    }

    private async Task FollowShardSlotAsync()
    {
        var pool = _session.Pool;
        var time = pool.Time;
        long started = time.NowMs();
        int attempts = 0;
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(ResubscribeBackoff.DelayMs(++attempts)), time);
            bool giveUp = time.NowMs() - started > ShardFollowGiveUpMs;
            Task? fence = null;
            bool wake = false;
            lock (_gate)
            {
                if (_link.Released || _session.IsClosed) return;
                var moves = _sub.Moves;
                if (moves.Moved.Count == 0)
                {
                    moves.Following = false; // the client unsubscribed them meanwhile
                    return;
                }
                var target = NewShardOwner(out bool cannotFollow);
                if (cannotFollow || giveUp) wake = GiveUpShardMoves();
                else if (target is null || _link.Connection is null || _tx.InMulti || _tx.Watching)
                {
                    // No map names another owner yet (or the connection is being replaced, or a RESP3 subscriber's
                    // transaction is open on it): ask again now and then.
                    if (attempts % 4 == 0) pool.RefreshSlotMap();
                    continue;
                }
                // Replies still due on the old connection are let out first; then the subscriber moves.
                else if (!_sub.Fenced)
                {
                    fence = _sub.Fence(inMulti: false, force: false);
                    _link.Flush(); // from a timer: no read loop flushes it
                }
                else if (MoveSubscriber(target)) return;
            }
            if (wake)
            {
                _session.WakeFlusher(); // not under the lock (see the class's lock discipline)
                return;
            }
            if (fence is not null) await fence;
        }
    }

    /// <summary>
    /// The node the moved channels' slot belongs to now, by the pool's map, or null while it still names this
    /// connection's node. <paramref name="cannotFollow"/>: they went to different nodes, or other shard channels held
    /// stay on this one.
    /// </summary>
    private ServerEndpoint? NewShardOwner(out bool cannotFollow)
    {
        cannotFollow = false;
        var routing = _session.Pool.Routing;
        var current = _link.Server;
        ServerEndpoint? target = null;
        var moved = _sub.Moves.Moved;
        foreach (var (channel, _) in moved)
        {
            var owner = routing.ServerFor(System.Text.Encoding.Latin1.GetBytes(channel));
            if (owner is null || ReferenceEquals(owner, current)) return null;
            if (target is not null && !ReferenceEquals(owner, target)) cannotFollow = true;
            target = owner;
        }
        foreach (var channel in _sub.Channels.ShardChannels)
        {
            bool isMoved = false;
            foreach (var m in moved) isMoved |= m.Channel == channel;
            if (!isMoved && ReferenceEquals(routing.ServerFor(System.Text.Encoding.Latin1.GetBytes(channel)), current)) cannotFollow = true;
        }
        return target;
    }

    /// <summary>Every earlier reply is out: the subscriber moves to <paramref name="target"/>; false to try again later.</summary>
    private bool MoveSubscriber(ServerEndpoint target)
    {
        var from = _link.Server!;
        if (!_link.TryMoveTo(target, PinnedUse.Subscriber, out _)) return false;
        _sub.Moves.Clear();
        _sub.Moves.Following = false;
        int restored = _sub.RestoreOn(_link.Connection!);
        LogShardSlotFollowed(_session.Logger, _session.Id, from.Label, target.Label, restored);
        return true;
    }

    /// <summary>The subscription cannot follow its slot: the client gets the sunsubscribes as Redis sent them (true: wake it).</summary>
    private bool GiveUpShardMoves()
    {
        var moves = _sub.Moves;
        foreach (var (_, frame) in moves.Moved) _sub.RelayConfirmation(frame);
        LogShardSlotNotFollowed(_session.Logger, _session.Id, _link.Server?.Label ?? "", moves.Moved.Count);
        moves.Clear();
        moves.Following = false;
        return _sub.CompleteRelay();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {ClientId}: shard subscriptions followed their slot from {From} to {To} ({Count} channels and patterns subscribed again)")]
    private static partial void LogShardSlotFollowed(ILogger logger, long clientId, string from, string to, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {ClientId}: {Count} shard channels left {Endpoint} and could not follow their slot; the client was told (sunsubscribe)")]
    private static partial void LogShardSlotNotFollowed(ILogger logger, long clientId, string endpoint, int count);
}
