using System.Collections.Concurrent;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Rampart.Protocol;

namespace Rampart.Proxy.Backends;

/// <summary>
/// One shared, pipelined connection to a Redis server. Many client sessions enqueue requests; one writer at a time
/// drains the queue into a single send (pipelining); a reader loop completes in-flight requests in FIFO order.
/// When the link drops, its in-flight requests fail with an error and are never resent (writes are not idempotent);
/// requests not yet written wait for the reconnect. While the server is down, requests fail fast.
/// </summary>
internal sealed partial class ServerConnection : Transport.ITurnWork
{
    private const int MaxBatchBytes = 256 * 1024;
    /// <summary>A request this large is sent from its own buffer, not copied into the batch (a 200 MB SET).</summary>
    private const int SendDirectBytes = 64 * 1024;
    private const int KeepSendBuffer = 16 * 1024;
    /// <summary>Requests a connection keeps while a failover holds its server's traffic; more get -TRYAGAIN.</summary>
    private const int MaxHeldRequests = 10_000;

    private readonly ServerEndpoint _server;
    private readonly ILogger _logger;
    private readonly ConcurrentQueue<ProxyRequest> _pending = new();
    private long _pendingBytes;
    private readonly ByteBuffer _sendBuffer = new(16 * 1024);
    private int _writeScheduled;
    private int _turnEndScheduled;
    private ServerLink? _link;
    // A request taken from the queue while its link died: it goes first on the next link, so order is kept.
    private ProxyRequest? _carry;
    private volatile bool _disposed;
    private string _disposedReason = "proxy is shutting down";

    public ServerConnection(ServerEndpoint server, Transport.EventLoop loop, ILogger logger, bool resp3)
    {
        Resp3 = resp3;
        Loop = loop;
        _server = server;
        _logger = logger;
    }

    /// <summary>True for the RESP3 lane: its links say HELLO 3 in their handshake.</summary>
    public bool Resp3 { get; }

    /// <summary>The event loop this connection writes and reads on: the one of the clients that use it.</summary>
    public Transport.EventLoop Loop { get; }

    /// <summary>The live link, if connected (read by the timeout sweep).</summary>
    internal ServerLink? Link => Volatile.Read(ref _link);

    /// <summary>Requests queued and not yet written (twemproxy's <c>in_queue</c>), for the stats port.</summary>
    internal int QueuedCount => _pending.Count;
    /// <summary>Bytes of the requests queued and not yet written (twemproxy's <c>in_queue_bytes</c>).</summary>
    internal long QueuedBytes => Volatile.Read(ref _pendingBytes);

    /// <summary>Queues a request; call <see cref="Flush"/> once the caller has queued everything it has.</summary>
    public void Enqueue(ProxyRequest request)
    {
        if (_server.IsHolding)
        {
            // A failover is under way: the request waits for the new master (bounded in count and time).
            if (_pending.Count >= MaxHeldRequests)
            {
                _server.Stats.AddForwardError();
                _server.RecordFailure(request);
                request.Fail(_server.HoldOverflowReason);
                return;
            }
        }
        else if (_server.UnavailableReason is { } down)
        {
            if (_server.Fallback is { } fallback && fallback.TryResend(request)) return;
            _server.Stats.AddForwardError();
            _server.RecordFailure(request);
            request.Fail(down);
            _server.OnRequestRefused();
            return;
        }
        Interlocked.Add(ref _pendingBytes, request.Payload.Length);
        _pending.Enqueue(request);
    }

    /// <summary>
    /// Called once a caller has queued everything it has. The write happens at the end of the event loop's turn,
    /// after it has read every client that was ready, so their requests leave in one write, as in twemproxy.
    /// </summary>
    public void Flush()
    {
        if (Interlocked.CompareExchange(ref _turnEndScheduled, 1, 0) == 0) Loop.AtTurnEnd(this);
    }

    /// <summary>The end of the loop's turn: send what every client queued during it, in one write.</summary>
    public void OnTurnEnd()
    {
        Volatile.Write(ref _turnEndScheduled, 0);
        StartWriter();
    }

    private void StartWriter()
    {
        // The writer runs on this thread until its send would block; no hop to the thread pool.
        if (Interlocked.CompareExchange(ref _writeScheduled, 1, 0) == 0) _ = WriteLoopAsync();
    }

    private async Task WriteLoopAsync()
    {
        while (true)
        {
            if (_server.IsHolding)
            {
                // Nothing leaves during a failover; the end of the hold starts the writer again. Release, then look
                // once more, in case the hold ended between our look and the release.
                Interlocked.Exchange(ref _writeScheduled, 0);
                if (_server.IsHolding || (_pending.IsEmpty && _carry is null)
                    || Interlocked.CompareExchange(ref _writeScheduled, 1, 0) != 0) return;
                continue;
            }
            var link = Volatile.Read(ref _link);
            if (link is null || link.IsDead)
            {
                link = await ConnectAsync();
                if (link is null) return; // pending requests were failed; the writer flag was released
            }

            int batch = 0;
            long taken = 0;
            ProxyRequest? large = null;
            bool awaitsReplicas = false;
            byte[]? ackAfterLarge = null;
            link.BeginWrite();
            // One clock reading per batch: its requests leave in one write, so their timeouts start together.
            long sentMs = _server.Time.NowMs();
            try
            {
                while (_sendBuffer.Length < MaxBatchBytes && TryTake(out var request, ref taken))
                {
                    if (request.Client!.IsClosed)
                    {
                        request.MarkCompleted(); // nobody waits for it: skip the server round trip
                        continue;
                    }
                    if (link.IsDead)
                    {
                        _carry = request; // not written yet: it may go on the next link
                        break;
                    }
                    // One command (not a whole transaction, whose first replies come back, and are written into the
                    // payload, while the rest is still being sent) can be sent from its own buffer: the server cannot
                    // answer before it has all of it.
                    bool direct = request.Payload.Length >= SendDirectBytes && request.ExtraReplies == 0;
                    if (!direct) _sendBuffer.Write(request.Payload.Span);
                    request.SentTick = sentMs;
                    link.InFlight.Enqueue(request);
                    awaitsReplicas |= request.AwaitsReplicas;
                    batch++;
                    if (direct)
                    {
                        large = request;
                        break;
                    }
                }
            }
            finally
            {
                // Durable writes: one WAIT after the batch, answered after every reply of it (see WriteAcks).
                if (awaitsReplicas && !link.IsDead)
                {
                    var acks = _server.AcksForBatch(sentMs);
                    var probe = acks.NewProbe();
                    probe.SentTick = sentMs;
                    link.InFlight.Enqueue(probe);
                    batch++;
                    if (large is null) _sendBuffer.Write(acks.Command);
                    else ackAfterLarge = acks.Command;
                }
                if (taken != 0) Interlocked.Add(ref _pendingBytes, -taken); // once per batch, not per request
                // Counted before the bytes leave, so the reader can never see a reply for an uncounted request.
                if (batch > 0) link.AddInFlight(batch, _sendBuffer.Length + (large?.Payload.Length ?? 0));
                link.EndWrite();
            }

            if (batch == 0)
            {
                _sendBuffer.Clear();
                if (link.IsDead) continue;
                Volatile.Write(ref _writeScheduled, 0);
                // A request queued after our last look but before the flag was released would be stranded.
                if ((_pending.IsEmpty && _carry is null) || Interlocked.CompareExchange(ref _writeScheduled, 1, 0) != 0) return;
                continue;
            }

            try
            {
                long sent = _sendBuffer.Length;
                if (_sendBuffer.Length > 0) await link.Connection.SendAsync(_sendBuffer.Memory);
                if (large is not null)
                {
                    sent += large.Payload.Length;
                    await link.Connection.SendAsync(large.Payload.Memory);
                }
                if (ackAfterLarge is not null)
                {
                    sent += ackAfterLarge.Length;
                    await link.Connection.SendAsync(ackAfterLarge);
                }
                _server.Stats.AddSent(sent);
                _server.Stats.AddRequests(batch);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) // IOException: a TLS record or alert
            {
                if (!link.IsDead) _server.Stats.AddError();
                link.Kill($"write failed: {SocketErrors.Describe(e)}");
            }
            _sendBuffer.Clear();
            _sendBuffer.ShrinkIfEmpty(KeepSendBuffer);
        }
    }

    /// <summary>Connects a new link; on failure fails everything queued and puts the server in backoff.</summary>
    private async Task<ServerLink?> ConnectAsync()
    {
        if (_disposed) { FailPending($"ERR rampart: {_disposedReason}"); return ReleaseWriter(); }
        string? down = _server.UnavailableReason;
        if (down is not null) { FailPending(down); return ReleaseWriter(); }
        if (Resp3 && _server.Resp3Refused is { } refused) { FailPending(refused); return ReleaseWriter(); }

        try
        {
            var link = await ServerLink.ConnectAsync(_server, this, Resp3);
            Volatile.Write(ref _link, link);
            // The master may have moved while we connected; a recycle before the link was published missed it.
            if (!link.Target.Equals(_server.Address)) link.Kill("master changed while connecting");
            _server.OnConnected();
            LogConnected(_server.Label);
            _ = link.ReadLoopAsync();
            return link;
        }
        catch (ServerHandshake.Resp3RefusedException e)
        {
            // Only this lane's clients are affected: they get the reason, and HELLO 3 is answered NOPROTO from now on.
            _server.OnResp3Refused(e.Message);
            FailPending(_server.Resp3Refused!);
            return ReleaseWriter();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException or RespProtocolException)
        {
            string reason = SocketErrors.Describe(e);
            // A down server is retried at its backoff even without traffic: say so once, not at every retry.
            if (_server.OnConnectFailed(reason) == 1) LogConnectFailed(_server.Label, reason);
            else LogStillUnreachable(_server.Label, reason);
            FailPending(_server.UnavailableReason ?? $"ERR rampart: server {_server.Label} unavailable: {reason}");
            // A node that cannot be reached may have failed: its pool may have a newer map (a cluster's replica promoted).
            if (!_disposed) _server.ConnectionLost?.Invoke();
            return ReleaseWriter();
        }
    }

    /// <summary>
    /// The next request to write; its bytes are added to <paramref name="takenBytes"/>, which the caller takes off
    /// <see cref="QueuedBytes"/> once for the batch (a carried request's were taken off when it was first taken).
    /// </summary>
    private bool TryTake(out ProxyRequest request, ref long takenBytes)
    {
        if (_carry is not null)
        {
            request = _carry;
            _carry = null;
            return true;
        }
        if (!_pending.TryDequeue(out request!)) return false;
        takenBytes += request.Payload.Length;
        return true;
    }

    private ServerLink? ReleaseWriter()
    {
        Volatile.Write(ref _writeScheduled, 0);
        if (!_pending.IsEmpty) Flush();
        return null;
    }

    private void FailPending(string error)
    {
        var fallback = _server.Fallback;
        long taken = 0;
        while (TryTake(out var request, ref taken))
        {
            if (fallback is not null && fallback.TryResend(request)) continue;
            _server.Stats.AddForwardError();
            _server.RecordFailure(request);
            request.Fail(error);
        }
        if (taken != 0) Interlocked.Add(ref _pendingBytes, -taken);
    }

    /// <summary>Called by a link whose reader has stopped, after it failed its in-flight requests.</summary>
    internal void OnLinkDead(ServerLink link, string reason, int failedInFlight)
    {
        Interlocked.CompareExchange(ref _link, null, link);
        _server.OnDisconnected(failure: !_disposed);
        if (!_disposed) _server.ConnectionLost?.Invoke();
        // Closed on purpose (shutdown, a reload retiring the server) is not trouble, unless requests failed by it.
        if (_disposed && failedInFlight == 0) LogClosed(_server.Label, reason);
        else LogDisconnected(_server.Label, reason, failedInFlight);
        // Requests queued but never written go out on a new link.
        if (!_pending.IsEmpty) Flush();
    }

    /// <summary>The end of a failover hold: fail what waited (it ran out of time) or send it to the new master.</summary>
    internal void OnHoldEnded(string? failWith)
    {
        if (failWith is not null) FailPending(failWith);
        if (!_pending.IsEmpty || _carry is not null) Flush();
    }

    /// <summary>Fails the head request if it has waited longer than the pool's timeout; the link is then recycled.</summary>
    internal void CheckTimeout(long now, int timeoutMs)
    {
        var link = Link;
        if (link is null || link.IsDead) return;
        if (link.InFlight.TryGetOldestSentTick(out long sent) && now - sent > timeoutMs)
        {
            _server.Stats.AddTimeout();
            LogTimeout(_server.Label, timeoutMs);
            link.Kill("timeout", failWith: "ERR timeout");
        }
    }

    /// <summary>
    /// How long the oldest request in flight may wait for its reply before the server counts as not reading this
    /// connection. Redis answers in microseconds; a tenth of a second without the oldest reply means it is held: a
    /// client's busy script (Redis's own busy-reply-threshold may be as low as 10 ms), a paused write, a long command.
    /// </summary>
    internal const int StallMs = 100;

    /// <summary>
    /// True when the oldest request in flight here has waited longer than <see cref="StallMs"/> (one clock read, and
    /// only when something is in flight; on the proxy's TimeProvider, like the send time it is compared with).
    /// </summary>
    internal bool IsStalled() =>
        Link is { } link && link.InFlight.TryGetOldestSentTick(out long sent) && _server.Time.NowMs() - sent > StallMs;

    /// <summary>True when nothing is queued, carried over or in flight on this connection.</summary>
    internal bool IsIdle => _pending.IsEmpty && Volatile.Read(ref _carry) is null && (Link?.InFlightCount ?? 0) == 0;

    /// <param name="failWith">The error for requests in flight, when it should not be "connection to server ... lost".</param>
    public void Dispose(string reason = "proxy is shutting down", string? failWith = null)
    {
        _disposedReason = reason;
        _disposed = true;
        Link?.Kill(reason, failWith);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to server {Endpoint}")]
    private partial void LogConnected(string endpoint);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot connect to server {Endpoint}: {Reason}")]
    private partial void LogConnectFailed(string endpoint, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Server {Endpoint} still unreachable: {Reason}")]
    private partial void LogStillUnreachable(string endpoint, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Closed connection to server {Endpoint}: {Reason}")]
    private partial void LogClosed(string endpoint, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost connection to server {Endpoint}: {Reason}; {FailedInFlight} in-flight requests failed")]
    private partial void LogDisconnected(string endpoint, string reason, int failedInFlight);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Server {Endpoint} did not answer within {TimeoutMs} ms; recycling the connection")]
    private partial void LogTimeout(string endpoint, int timeoutMs);
}
