using Microsoft.Extensions.Logging;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// What the dedicated connection's reader tells the session (<see cref="IPinnedReceiver"/>): replies, the end of a
/// socket read, and the connection's loss, after which a subscriber is subscribed again on a new connection.
/// </summary>
internal sealed partial class PinnedSession
{
    private const int ResubscribeGiveUpMs = 30_000;
    // A subscriber's tries to subscribe again after its connection dropped: 50 ms doubling to 500 ms.
    private static readonly Backoff ResubscribeBackoff = new(50, 500);

    public void OnReply(PinnedConnection from, ReadOnlySpan<byte> reply)
    {
        lock (_gate)
        {
            if (!_link.Owns(from)) return;
            if (_sub.Active)
            {
                if (FollowedShardSubscribeRedirect(reply)) return;
                NoteRelayedMoved(reply);
                _sub.OnReply(reply, _tx.InMulti);
                FollowShardMovesIfAny();
            }
            else if (FollowedRedirect(reply) || FollowedTransactionRedirect(reply)) return;
            else if (_link.Complete(from, reply)) MaybeRelease();
        }
    }

    public void OnReadDone(PinnedConnection from)
    {
        bool wake;
        lock (_gate)
        {
            if (_sub.CompleteRelay()) _link.MarkWake();
            wake = _link.TakeWake();
        }
        if (wake) _session.WakeFlusher();
    }

    public void OnLost(PinnedConnection from, string error)
    {
        lock (_gate)
        {
            if (!_link.Owns(from)) return;
            _link.Lost();
            _sub.CompleteRelay();
            if (_tx.InMulti || _tx.Watching) _tx.Broken = error; // a new connection would have neither: EXEC says so
            if (_sub.Active)
            {
                _sub.OnLost(error);
                _ = ResubscribeAsync(error);
            }
            else
            {
                _link.FailInFlight(error);
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
        var server = _link.Server!;
        var time = server.Time;
        long started = time.NowMs();
        int attempts = 0;
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(ResubscribeBackoff.DelayMs(++attempts)), time);
            lock (_gate)
            {
                if (_link.Released || _session.IsClosed) return;
                if (_resp3 && server.Resp3Refused is { } refused)
                {
                    // The first RESP3 connection to this server found it does not speak RESP3: that will not change.
                    _session.ReplyError(refused);
                    Release(clean: false);
                    return;
                }
                if (server.Pinned.IsClosed)
                {
                    // The server left the pool (reload): close the client, whose library reconnects and subscribes
                    // again through the new configuration, rather than wait 30 s for a server that will not return.
                    _session.Close();
                    return;
                }
                if (_link.TryRent(server, PinnedUse.Subscriber, out _))
                {
                    int restored = _sub.RestoreOn(_link.Connection!);
                    server.Pinned.CountResubscribe();
                    LogResubscribed(_session.Logger, _session.Id, server.Label, restored, reason);
                    return;
                }
            }
            if (time.NowMs() - started > ResubscribeGiveUpMs)
            {
                LogResubscribeFailed(_session.Logger, _session.Id, server.Label, ResubscribeGiveUpMs);
                _session.Close();
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {ClientId}: subscriptions restored on a new connection to {Endpoint} ({Count} channels and patterns) after: {Reason}")]
    private static partial void LogResubscribed(ILogger logger, long clientId, string endpoint, int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {ClientId}: no connection to {Endpoint} for {Ms} ms to restore its subscriptions; closing the client")]
    private static partial void LogResubscribeFailed(ILogger logger, long clientId, string endpoint, int ms);
}
