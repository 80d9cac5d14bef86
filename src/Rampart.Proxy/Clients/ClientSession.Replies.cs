using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Clients;

/// <summary>
/// The session's reply side: the queue that keeps replies in request order, the bytes the client holds (bounded by
/// client_output_buffer), the one flusher that writes completed replies to the socket, and CLIENT REPLY's modes.
/// </summary>
internal sealed partial class ClientSession
{
    /// <summary>A dedicated connection's request joins the reply order (under the pin's lock).</summary>
    public void AppendSlot(ProxyRequest request) => Append(request);

    /// <summary>
    /// A subscriber's relayed bytes join the reply order whatever CLIENT REPLY says: Redis sends pub/sub confirmations
    /// and messages even under OFF or SKIP (the relay leaves out, itself, replies to commands sent while replies were
    /// off: see <see cref="TakeReplySilence"/>). Uses up no SKIP.
    /// </summary>
    public void AppendUnsilenced(ProxyRequest request) => Append(request, honourReplyMode: false);

    /// <summary>
    /// For a request that holds no slot of its own (a subscriber's command relayed in server order): whether its reply
    /// is to be dropped under CLIENT REPLY OFF or SKIP. Uses up a SKIP, as that request is "the next command".
    /// </summary>
    public bool TakeReplySilence()
    {
        if (_replyMode == ReplyMode.On) return false;
        if (_replyMode == ReplyMode.SkipNext) _replyMode = ReplyMode.On;
        return true;
    }

    /// <summary>The request being dispatched waits for <paramref name="wait"/>, then is dispatched again.</summary>
    public void DeferUntil(Task wait) => _deferred = wait;

    /// <summary>The request being dispatched waits until every earlier reply has been written to the client.</summary>
    public void DeferUntilDrained()
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref Rare.DrainWaiter, waiter);
        _deferred = waiter.Task;
        WakeFlusher(); // the flusher looks at the waiter after its next pass
    }

    private void ReleaseDrainWaiter()
    {
        if (Volatile.Read(ref _rare) is not { } rare) return;
        var waiter = Volatile.Read(ref rare.DrainWaiter);
        if (waiter is not null && Interlocked.CompareExchange(ref rare.DrainWaiter, null, waiter) == waiter) waiter.TrySetResult();
    }

    private void Append(ProxyRequest request, bool honourReplyMode = true)
    {
        if (_replyMode != ReplyMode.On && honourReplyMode) MarkSilent(request);
        // A queued request holds memory whatever its reply's size: a client that pipelines small requests and never
        // reads is bounded by the same limit as one that leaves large replies unread. (A large request's own bytes are
        // the query buffer's, bounded like Redis's client-query-buffer-limit, and let go once sent.)
        request.HeldCost = ProxyRequest.HeldBytesWhileQueued(request);
        AccountHeld(request.HeldCost);
        Volatile.Write(ref _tail.Next, request);
        _tail = request;
    }

    private void FlushTouched()
    {
        Pin?.FlushSends();
        if (_touched is null) return;
        _touched.Flush();
        _touched = null;
        if (_rare?.TouchedMore is not { } more) return;
        foreach (var connection in more) connection.Flush();
        more.Clear();
    }

    /// <summary>
    /// Called by whoever completes a request (a server reader, or this session for local replies). The first
    /// caller becomes the flusher; later callers only count, and the flusher loops until the count is drained,
    /// so no completion is ever missed and only one thread writes to the socket.
    /// </summary>
    public void OnRequestCompleted(ProxyRequest? request)
    {
        if (request is not null) AccountReply(request.Payload.Length);
        WakeFlusher();
    }

    /// <summary>Counts reply bytes not yet written; a client over <c>client_output_buffer</c> is closed.</summary>
    public void AccountReply(long bytes) => AccountHeld(bytes);

    private void AccountHeld(long bytes)
    {
        long held = Interlocked.Add(ref _heldBytes, bytes);
        if (held > _pool.Config.ClientOutputBufferLimit && !_closed)
        {
            LogOutputLimit(Id, RemoteEndPoint, held, _pool.Config.ClientOutputBufferLimit);
            Close();
        }
    }

    /// <summary>
    /// Completes once this client holds at most <paramref name="bytes"/> (or has closed): the server connection passing
    /// it a large reply waits on this rather than read faster than the client takes the reply.
    /// </summary>
    public Task WhenHeldAtMostAsync(long bytes)
    {
        var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var rare = Rare;
        Volatile.Write(ref rare.HeldWaitLimit, bytes);
        Volatile.Write(ref rare.HeldWaiter, waiter);
        if (Volatile.Read(ref _heldBytes) <= bytes || _closed) ReleaseHeldWaiter();
        return waiter.Task;
    }

    private void ReleaseHeld(ref long bytes)
    {
        if (bytes == 0) return;
        ReleaseHeld(bytes);
        bytes = 0;
    }

    private void ReleaseHeld(long bytes)
    {
        long held = Interlocked.Add(ref _heldBytes, -bytes);
        if (_rare is { HeldWaiter: not null } rare && held <= Volatile.Read(ref rare.HeldWaitLimit)) ReleaseHeldWaiter();
    }

    private void ReleaseHeldWaiter()
    {
        if (Volatile.Read(ref _rare) is { } rare) Interlocked.Exchange(ref rare.HeldWaiter, null)?.TrySetResult();
    }

    /// <inheritdoc cref="IReplyOwner.WakeFlusherAtTurnEnd"/>
    public void WakeFlusherAtTurnEnd()
    {
        var loop = _connection.Loop;
        if (!loop.IsLoopThread)
        {
            WakeFlusher();
            return;
        }
        if (_flushAtTurnEnd) return;
        _flushAtTurnEnd = true;
        loop.AfterTurnWrites(this);
    }

    // Set while a flush waits for the end of the loop's turn (the loop thread only reads and writes it).
    private bool _flushAtTurnEnd;

    void Transport.ITurnWork.OnTurnEnd()
    {
        _flushAtTurnEnd = false;
        WakeFlusher();
    }

    public void WakeFlusher()
    {
        if (Interlocked.Increment(ref _flushSignals) == 1) _ = FlushAsync();
    }

    private async Task FlushAsync()
    {
        int observed;
        // What the replies written so far in this pass held: given back once before each send and at the end of the
        // pass, not once per reply.
        long released = 0;
        do
        {
            observed = Volatile.Read(ref _flushSignals);
            try
            {
                while (true)
                {
                    var next = Volatile.Read(ref _head.Next);
                    if (next is null) break;
                    if (!next.IsCompleted)
                    {
                        // A large reply passing through in parts: write what has come so far, then look again.
                        if (!next.IsStreaming) break;
                        int part = next.TakeStreamed(_closed || next.Silent ? null : _output);
                        if (part == 0)
                        {
                            if (next.IsCompleted) continue; // its last part came meanwhile
                            break;
                        }
                        released += part;
                        if (_output.Length >= SendThreshold)
                        {
                            ReleaseHeld(ref released);
                            await SendOutputAsync();
                        }
                        continue;
                    }
                    int length = next.Payload.Length;
                    if (!_closed && !next.Silent) _output.Write(next.Payload.Span);
                    released += length + next.HeldCost;
                    var previous = _head;
                    _head = next;
                    // The sentinel is never pooled, so its link to the first request is cut by hand: that request
                    // goes back to the pool and serves other clients, whose buffers this session would keep alive.
                    if (ReferenceEquals(previous, _sentinel)) previous.Next = null;
                    else previous.Return();
                    if (_output.Length >= SendThreshold)
                    {
                        ReleaseHeld(ref released);
                        await SendOutputAsync();
                    }
                }
                ReleaseHeld(ref released);
                if (Volatile.Read(ref _writesQueued) != Volatile.Read(ref _writesSettled))
                {
                    long queued = Volatile.Read(ref _writesQueued); // read before the queue is seen empty
                    if (Volatile.Read(ref _head.Next) is null) SettleWrites(queued);
                }
                if (_output.Length > 0 && !HoldsPartialReplies()) await SendOutputAsync();
                if (_closeAfterReplies && _head.Next is null) Close();
                if (_rare?.DrainWaiter is not null && Volatile.Read(ref _head.Next) is null) ReleaseDrainWaiter();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) // IOException: a TLS record or alert
            {
                Close();
                _output.Clear();
                ReleaseHeld(ref released);
            }
            // Written out: the buffer goes back to the pool until the next reply (an idle client holds none).
            if (_output.Length == 0) _output.Release();
        } while (Interlocked.Add(ref _flushSignals, -observed) != 0);
    }

    // A hold of completed replies (loop thread): begun, and over (see HoldsPartialReplies); and how many of this
    // session's deadlines the loop still has queued (the last one is the current hold's).
    private bool _holdingReplies;
    private bool _holdExpired;
    private int _holdDeadlinesQueued;

    /// <summary>
    /// Whether the completed replies in the output wait for the rest of the client's pipeline instead of leaving now.
    /// A pipeline whose requests went to several servers (a cluster's slots, shards) comes back in parts, one per
    /// server read: written as they come, it costs a send and a wake-up of the client per part, where Redis writes the
    /// replies of all it read from a client at once. So while the next reply is still on its way, the loop holds
    /// what is ready, bounded in bytes (the send threshold) and in time (<see cref="Transport.HeldWrites"/>); a reply
    /// that completes the pipeline writes everything at once. One client's hold delays no one else.
    /// </summary>
    private bool HoldsPartialReplies()
    {
        if (_closed || _holdExpired) return false;
        if (Volatile.Read(ref _head.Next) is not { IsCompleted: false, IsStreaming: false }) return false;
        var loop = _connection.Loop;
        if (!loop.IsLoopThread) return false;
        if (!_holdingReplies)
        {
            _holdingReplies = true;
            _holdDeadlinesQueued++;
            loop.HoldWrite(this);
        }
        return true;
    }

    /// <inheritdoc cref="Transport.IHeldWrite.OnHoldExpired"/>
    void Transport.IHeldWrite.OnHoldExpired()
    {
        // An earlier hold's deadline (that hold was written out): the current hold, if any, has its own, queued later.
        if (--_holdDeadlinesQueued > 0 || !_holdingReplies) return;
        _holdExpired = true;
        WakeFlusherAtTurnEnd();
    }

    private async ValueTask SendOutputAsync()
    {
        _holdingReplies = _holdExpired = false; // whatever was held leaves (or is dropped) now
        if (_closed)
        {
            _output.Clear();
            return;
        }
        await _connection.SendAsync(_output.Memory);
        _output.Clear();
        _output.ShrinkIfEmpty(KeepBuffer); // a large reply passed: keep the usual size for the rest of this pass
    }

    /// <summary>CLIENT REPLY: whether this client's replies are written (On), dropped (Off), or the next one dropped.</summary>
    public enum ReplyMode : byte { On, Off, SkipNext }

    private ReplyMode _replyMode;

    /// <summary>
    /// CLIENT REPLY ON/OFF/SKIP, called while the CLIENT REPLY request itself is the newest in the queue: OFF and SKIP
    /// are not answered (as in Redis), so that request is dropped too. Each request keeps its place in the queue and
    /// is still sent and completed; only writing its reply is skipped, so ordering is untouched.
    /// </summary>
    public void SetReplyMode(ProxyRequest current, ReplyMode mode)
    {
        if (mode == ReplyMode.SkipNext && _replyMode == ReplyMode.Off) return; // Redis: SKIP while OFF changes nothing
        current.Silent = mode != ReplyMode.On;
        _replyMode = mode;
    }

    /// <summary>
    /// RESET: replies back on, its own included, as Redis does. A SKIP before the RESET still drops the RESET's reply
    /// (Redis turned it into "skip this command" before running it).
    /// </summary>
    public void ResetReplyMode(ProxyRequest current)
    {
        if (_replyMode != ReplyMode.Off) return;
        _replyMode = ReplyMode.On;
        current.Silent = false;
    }

    private void MarkSilent(ProxyRequest request)
    {
        request.Silent = true;
        if (_replyMode == ReplyMode.SkipNext) _replyMode = ReplyMode.On;
    }
}
