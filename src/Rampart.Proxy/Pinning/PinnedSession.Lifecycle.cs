using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Commands;

namespace Rampart.Proxy.Pinning;

/// <summary>Replies from the dedicated connection, its loss (and resubscription), and the end of the pin.</summary>
internal sealed partial class PinnedSession
{
    // ---------------------------------------------------------------- replies (connection reader)

    public void OnReply(PinnedConnection from, ReadOnlySpan<byte> reply)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(from, _conn) || _released) return;
            if (_streaming)
            {
                OnStreamReply(reply);
                return;
            }
            if (_resp3 && reply[0] == (byte)'>') return; // a push answers no request (none is expected outside subscribed mode)
            if (!_inFlight.TryDequeue(out var call))
            {
                from.Kill("a reply arrived with no request waiting for it");
                return;
            }
            if (call.Blocks) _blockedCalls--;
            if (call.Slot is not { } slot)
            {
                MaybeRelease(); // a reply to Rampart's own command (a held MULTI): dropped
                return;
            }
            if (call.ReplaceWith is { } error)
            {
                slot.Payload.Clear();
                RespWriter.Error(slot.Payload, error);
                slot.SetCompletedQuietly();
            }
            else slot.CompleteQuietly(reply);
            _session.AccountReply(slot.Payload.Length);
            _wake = true;
            MaybeRelease();
        }
    }

    private void OnStreamReply(ReadOnlySpan<byte> reply)
    {
        if (_fence is not null && (reply.SequenceEqual(FenceReply) || reply.SequenceEqual(FenceReplySubscribed)))
        {
            CompleteFence(arrived: true);
            return;
        }
        if (_fence is not null && _inMulti && reply.StartsWith("-ERR unknown command 'rampart-fence'"u8))
        {
            CompleteFence(arrived: true);
            return;
        }
        // RESP3: only a push is a confirmation (an EXEC's array may look like one). RESP2: arrays of known kinds.
        bool confirmation = (!_resp3 || reply[0] == (byte)'>') && Channels.Observe(reply);
        bool push = _resp3 ? reply[0] == (byte)'>' : confirmation || IsResp2Message(reply);
        if (!push && _streamReplies > 0)
        {
            _streamReplies--;
            if (ReplyDoneIsSilent()) return; // its request was sent under CLIENT REPLY OFF/SKIP
        }
        if (confirmation && _swallow > 0)
        {
            _swallow--; // the client already had this confirmation, from the connection before the failover
            return;
        }
        if (_relay is null)
        {
            _relay = ProxyRequest.Rent(_session);
            _session.AppendUnsilenced(_relay); // pushes go out whatever CLIENT REPLY says, as from Redis
        }
        _relay.Payload.Write(reply);
        _session.AccountReply(reply.Length);
    }

    /// <summary>One more relayed reply is answered (or lost); true when its request was sent while replies were off.</summary>
    private bool ReplyDoneIsSilent()
    {
        _repliesDone++;
        if (_silentReplies is not { } silent) return false;
        while (silent.Count > 0 && silent.Peek() < _repliesDone) silent.Dequeue();
        if (silent.Count == 0 || silent.Peek() != _repliesDone) return false;
        silent.Dequeue();
        return true;
    }

    /// <summary>A RESP2 subscribed connection's message (message, pmessage, smessage): a push, not a reply to a command.</summary>
    private static bool IsResp2Message(ReadOnlySpan<byte> reply) =>
        reply.StartsWith("*3\r\n$7\r\nmessage\r\n"u8) || reply.StartsWith("*4\r\n$8\r\npmessage\r\n"u8)
        || reply.StartsWith("*3\r\n$8\r\nsmessage\r\n"u8);

    public void OnReadDone(PinnedConnection from)
    {
        bool wake;
        lock (_gate)
        {
            if (_relay is { } relay)
            {
                _relay = null;
                relay.SetCompletedQuietly();
                _wake = true;
            }
            wake = _wake;
            _wake = false;
        }
        if (wake) _session.WakeFlusher();
    }

    public void OnLost(PinnedConnection from, string error)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(from, _conn) || _released) return;
            _conn = null;
            if (_relay is { } relay)
            {
                _relay = null;
                relay.SetCompletedQuietly();
            }
            if (_streaming)
            {
                CompleteFence(arrived: false);
                if (_inMulti || _watching) _broken = error; // the new connection has neither: EXEC will say so
                if (_streamReplies > 0)
                {
                    // Requests sent on the lost connection get the error in their place, as on the shared path
                    // (except those sent while replies were off).
                    var lost = ProxyRequest.Rent(_session);
                    for (int i = 0; i < _streamReplies; i++)
                        if (!ReplyDoneIsSilent()) RespWriter.Error(lost.Payload, error);
                    _streamReplies = 0;
                    _session.AppendUnsilenced(lost);
                    _session.AccountReply(lost.Payload.Length);
                    lost.SetCompletedQuietly();
                }
                _ = ResubscribeAsync(error);
            }
            else
            {
                while (_inFlight.TryDequeue(out var call)) call.Slot?.Fail(error);
                _blockedCalls = 0;
                if (_inMulti || _watching) _broken = error;
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
        var time = _server!.Time;
        long started = time.NowMs();
        int attempts = 0;
        while (true)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(ResubscribeBackoff.DelayMs(++attempts)), time);
            lock (_gate)
            {
                if (_released || _session.IsClosed) return;
                if (_resp3 && _server!.Resp3Refused is { } refused)
                {
                    // The first RESP3 connection to this server found it does not speak RESP3: that will not change.
                    _session.ReplyError(refused);
                    Release(clean: false);
                    return;
                }
                if (_server!.Pinned.IsClosed)
                {
                    // The server left the pool (reload): close the client, whose library reconnects and subscribes
                    // again through the new configuration, rather than wait 30 s for a server that will not return.
                    _session.Close();
                    return;
                }
                var conn = _server.Pinned.TryRent(this, _resp3, PinnedUse.Subscriber, out _);
                if (conn is not null && conn.IsDead) conn = null;
                if (conn is not null)
                {
                    _conn = conn;
                    using var commands = new ByteBuffer(256);
                    _swallow = Channels.WriteResubscribe(commands);
                    if (_backlog is { } backlog)
                    {
                        commands.Write(backlog.Span);
                        backlog.Dispose();
                        _backlog = null;
                        _streamReplies += _backlogReplies;
                        _backlogReplies = 0;
                    }
                    if (commands.Length > 0) conn.Send(commands.Span); // from a timer: sent now
                    _server.Pinned.CountResubscribe();
                    LogResubscribed(_session.Logger, _session.Id, _server.Endpoint, _swallow, reason);
                    return;
                }
            }
            if (time.NowMs() - started > ResubscribeGiveUpMs)
            {
                LogResubscribeFailed(_session.Logger, _session.Id, _server!.Endpoint, ResubscribeGiveUpMs);
                _session.Close();
                return;
            }
        }
    }

    // ---------------------------------------------------------------- release

    /// <summary>Ends the pin when nothing holds it: no transaction, WATCH, subscription or reply outstanding.</summary>
    private void MaybeRelease()
    {
        if (_released || _inFlight.Count > 0 || _inMulti || _watching || _streaming || _held is not null) return;
        Release(clean: true);
    }

    /// <summary>
    /// Gives the connection back: as it is when clean; after DISCARD/UNWATCH/unsubscribe-all when only its session
    /// state is left; closed when a reply is still outstanding (a blocked call), since its state is then unknown.
    /// </summary>
    private void Release(bool clean)
    {
        if (_released) return;
        _released = true;
        if (ReferenceEquals(_session.Pin, this)) _session.Pin = null;
        CompleteFence(arrived: false);
        _backlog?.Dispose();
        _backlog = null;
        DropHeld();
        var conn = _conn;
        _conn = null;
        if (conn is null) return;
        conn.Flush();
        if (_inFlight.Count > 0 || conn.NotReusable)
        {
            // A reply outstanding leaves its state unknown; a connection never to be lent again (a REDIRECT target)
            // closes now, so the server knows at once that the client it stood for is gone (tracking-redir-broken).
            conn.Detach();
            conn.Kill(conn.NotReusable ? "its client left" : "client left with a reply outstanding");
        }
        else if (clean && !_inMulti && !_watching && !_streaming) conn.Server.Pinned.Return(conn);
        else conn.CleanAndReturn(_inMulti, _streaming);
    }

    /// <summary>
    /// Sends what this read's requests queued on the dedicated connection, in one write (called by the client's read
    /// loop once per read, like the shared connections' flush).
    /// </summary>
    public void FlushSends()
    {
        PinnedConnection? conn;
        lock (_gate) conn = _conn;
        conn?.Flush();
    }

    /// <summary>The client disconnected (any thread).</summary>
    public void OnClientClosed()
    {
        lock (_gate) Release(clean: false);
    }

    private static byte[] RespCommand(params string[] args)
    {
        using var output = new ByteBuffer(64);
        RespCommands.Write(output, args);
        return output.Span.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Client {ClientId}: subscriptions restored on a new connection to {Endpoint} ({Count} channels and patterns) after: {Reason}")]
    private static partial void LogResubscribed(ILogger logger, long clientId, string endpoint, int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Client {ClientId}: no connection to {Endpoint} for {Ms} ms to restore its subscriptions; closing the client")]
    private static partial void LogResubscribeFailed(ILogger logger, long clientId, string endpoint, int ms);
}
