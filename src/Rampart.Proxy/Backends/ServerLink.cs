using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Rampart.Protocol;

namespace Rampart.Proxy.Backends;

/// <summary>
/// One TCP connection's lifetime inside a <see cref="ServerConnection"/>: the socket, the FIFO of requests written
/// and awaiting replies, and the reader that completes them. A link dies once; the connection then makes a new one.
/// </summary>
internal sealed class ServerLink
{
    private const int ReceiveChunk = 16 * 1024;
    private const int StreamReadChunk = 256 * 1024;
    /// <summary>An unfinished reply this large starts passing on to its client in parts.</summary>
    internal const int StreamThreshold = 64 * 1024;
    /// <summary>
    /// While its client holds more than this of a reply passing through (or half its <c>client_output_buffer</c>, if
    /// less), the link waits for it to take some.
    /// </summary>
    private const int StreamWindow = 16 * 1024 * 1024;
    /// <summary>
    /// How long a link may wait, over one reply, for a client slower than the server, since the replies behind it on
    /// this connection wait as long: a second to start with (a client may first make room for the value), and more as
    /// the reply passes, at the rate of <see cref="StreamPace"/>. A client slower than that has the rest kept for it
    /// under its <c>client_output_buffer</c>, as Redis keeps replies for a slow client under its output buffer limit.
    /// </summary>
    private static readonly TimeSpan StreamWaitBudget = TimeSpan.FromSeconds(1);
    /// <summary>Bytes per second a client must take a large reply at for the link to keep waiting for it (50 MB/s).</summary>
    private const double StreamPace = 50.0 * 1024 * 1024;

    private readonly ServerEndpoint _server;
    private readonly ServerConnection _owner;
    private readonly ReplyScanner _scanner = new();
    private readonly List<IReplyOwner> _toWake = [];
    private readonly bool _resp3;
    private int _dead;
    private int _writers;
    // Read by the reader only: a whole-transaction request whose first replies arrived; a request whose large reply
    // is passing on in parts; and what the current read completed, counted and must wake when it ends.
    private ProxyRequest? _gathering;
    // Cluster pools: the gathered transaction's replies so far, kept apart from its request bytes, which are sent again
    // if the cluster redirected it (see TakeReply). Made on first use; null in other pools.
    private ByteBuffer? _gathered;
    private ProxyRequest? _streaming;
    /// <summary>RESP3 pushes that arrived before the reply of <see cref="_pushesFor"/> (rare: null almost always).</summary>
    private byte[]? _pushes;
    private ProxyRequest? _pushesFor;
    private const int MaxPushBytes = 1024 * 1024;
    private int _readReplies;
    private long _readRequestBytes;
    private IReplyOwner? _readLast;
    private long _readLastBytes;
    private long _readNow;
    private TimeSpan _streamWaitLeft;
    private string _deathReason = "connection closed";
    private string? _failWith;
    // Durable writes answered by the master, waiting for the WAIT after their batch (reader thread only).
    private List<ProxyRequest>? _awaitingAck;

    public Transport.LoopSocket Connection { get; }
    /// <summary>Written requests awaiting their replies, oldest first. Producer: the writer; consumer: the reader.</summary>
    public InFlightQueue InFlight { get; } = new();
    public bool IsDead => Volatile.Read(ref _dead) != 0;

    private int _inFlightCount;
    /// <summary>Requests written and not yet answered.</summary>
    public int InFlightCount => Volatile.Read(ref _inFlightCount);
    private long _inFlightBytes;
    /// <summary>Request bytes written and not yet answered (twemproxy's <c>out_queue_bytes</c>).</summary>
    public long InFlightBytes => Volatile.Read(ref _inFlightBytes);
    public void AddInFlight(int count, long bytes)
    {
        Interlocked.Add(ref _inFlightCount, count);
        Interlocked.Add(ref _inFlightBytes, bytes);
    }

    private ServerLink(ServerEndpoint server, ServerConnection owner, Transport.LoopSocket connection, EndPoint target, bool resp3)
    {
        _resp3 = resp3;
        _server = server;
        _owner = owner;
        Connection = connection;
        Target = target;
    }

    /// <summary>The address this link connected to (for a Sentinel pool: the master confirmed at that moment).</summary>
    public EndPoint Target { get; }

    public static async Task<ServerLink> ConnectAsync(ServerEndpoint server, ServerConnection owner, bool resp3)
    {
        var (connection, address, _) = await ServerDialer.ConnectAsync(server, owner.Loop, resp3);
        return new ServerLink(server, owner, connection, address, resp3);
    }

    /// <summary>The writer announces itself before adding to <see cref="InFlight"/>, so a dying link can wait for it.</summary>
    public void BeginWrite() => Interlocked.Increment(ref _writers);
    public void EndWrite() => Interlocked.Decrement(ref _writers);

    /// <summary>Marks the link dead and closes its socket; the reader then fails what is in flight.</summary>
    public void Kill(string reason, string? failWith = null)
    {
        if (Interlocked.CompareExchange(ref _dead, 1, 0) != 0) return;
        _deathReason = reason;
        _failWith = failWith;
        Connection.Close();
    }

    public async Task ReadLoopAsync()
    {
        var buffer = new ByteBuffer(ReceiveChunk * 2);
        try
        {
            while (true)
            {
                // A large reply passing through is read in larger pieces: fewer turns for the replies queued behind it.
                int read = await Connection.ReceiveAsync(buffer.GetMemory(_streaming is null ? ReceiveChunk : StreamReadChunk));
                if (read == 0)
                {
                    if (!IsDead) _server.Stats.AddEof();
                    Kill("server closed the connection");
                    break;
                }
                buffer.Advance(read);
                _server.Stats.AddReceived(read);
                CompleteReplies(buffer);
                buffer.ShrinkIfEmpty(ReceiveChunk * 2); // after a large reply that could not pass on in parts
                if (_streaming?.Client is { IsClosed: false } slow && _streamWaitLeft > TimeSpan.Zero
                    && slow.HeldBytes > WindowOf(slow))
                    await WaitForStreamClientAsync(slow);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException) // IOException: a TLS record or alert
        {
            if (!IsDead) _server.Stats.AddError(); // not when the proxy closed the socket itself (timeout, stop)
            Kill(SocketErrors.Describe(e));
        }
        catch (RespProtocolException e)
        {
            if (!IsDead) _server.Stats.AddError();
            Kill(e.Message);
        }
        finally
        {
            buffer.Dispose();
            int failed = FailInFlight();
            _owner.OnLinkDead(this, _deathReason, failed);
        }
    }

    private void CompleteReplies(ByteBuffer buffer)
    {
        _readNow = 0;
        try
        {
            while (buffer.Length > 0)
            {
                if (!_scanner.TryScan(buffer.Span, out int length))
                {
                    PassOnPartialReply(buffer);
                    break;
                }
                var reply = buffer.Span[..length];
                if (_resp3 && reply[0] == (byte)'>')
                {
                    // A RESP3 push answers no request: it must not be taken for the next request's reply. Pub/sub and
                    // client tracking never run on a shared connection, so a push here was caused by the oldest
                    // request (DEBUG PROTOCOL push, for one) and goes to its client just before that reply, as
                    // Redis sends it.
                    KeepPushForOldest(reply);
                }
                else if (_streaming is { } streaming)
                {
                    _streaming = null;
                    EndStream(streaming, reply);
                }
                else
                {
                    TakeReply(reply);
                }
                buffer.Consume(length);
            }
        }
        finally
        {
            // Also when a later reply in this read could not be scanned: the replies completed before it are
            // delivered now, not whenever their clients next send something.
            EndOfRead();
        }
    }

    /// <summary>A whole reply, for the oldest request (or the whole transaction being gathered).</summary>
    private void TakeReply(ReadOnlySpan<byte> reply)
    {
        if (_gathering is null && InFlight.TryPeek(out var head) && head.SkipReplies != 0)
        {
            head.SkipReplies--; // the +OK of an ASKING sent ahead of the request (cluster ASK redirection)
            return;
        }
        var request = _gathering;
        if (request is null && !InFlight.TryDequeue(out request))
            throw new RespProtocolException("Protocol error from server: a reply arrived with no request waiting for it");
        if (request.PendingReplies != 0)
        {
            // A whole transaction sent as one request (MULTI ... EXEC): its replies are gathered until the last.
            if (_gathering is null)
            {
                _gathering = request;
                if (_server.Redirects is null)
                {
                    _readRequestBytes += request.Payload.Length;
                    request.Payload.Clear();
                }
                else (_gathered ??= new ByteBuffer(256)).Clear();
            }
            (_server.Redirects is null ? request.Payload : _gathered!).Write(reply);
            request.PendingReplies--;
            return;
        }
        if (_gathering is not null && _server.Redirects is { } follower && TransactionRedirected(follower, request, reply)) return;
        if (request.AckProbe is { } probe)
        {
            ReleaseAwaitingAck(probe, reply);
            return;
        }
        var client = request.Client!;
        var parent = request.Parent;
        bool isError = reply[0] == (byte)'-';
        if (isError && _gathering is null && _server.Redirects is { } redirects && Redirected(redirects, request, reply)) return;
        if (isError) CheckTopologyError(reply);
        RecordTiming(request, isError);
        int replyLength = reply.Length;
        if (_gathering is null)
        {
            _readRequestBytes += request.Payload.Length; // still the request: the reply replaces it below
            var pushes = TakePushes(request);
            if (request.AwaitsReplicas && !isError)
            {
                request.HoldReply(pushes, reply); // answered when the WAIT after its batch answers
                (_awaitingAck ??= []).Add(request);
                _readReplies++;
                return;
            }
            request.CompleteQuietly(pushes, reply);
            replyLength += pushes.Length;
        }
        else
        {
            _gathering = null;
            int execReplyStart = request.Payload.Length;
            request.Payload.Write(reply);
            if (request.AwaitsReplicas && WriteAcks.Holds(reply, exec: true))
            {
                request.HoldTransactionReply(execReplyStart); // EXEC ran: answered when the WAIT after its batch answers
                (_awaitingAck ??= []).Add(request);
                _readReplies++;
                return;
            }
            replyLength = request.Payload.Length;
            request.SetCompletedQuietly();
        }
        // (a split command's part: the request may already be recycled here, so it is not touched again)
        Wake(client, BytesNowHeld(parent, replyLength));
        _readReplies++;
    }

    /// <summary>
    /// The WAIT sent after a batch of durable writes answered (<see cref="WriteAcks"/>): the writes it covers are
    /// answered now, with their own replies when enough replicas have them, otherwise with the shortfall error.
    /// </summary>
    private void ReleaseAwaitingAck(WriteAcks acks, ReadOnlySpan<byte> reply)
    {
        _readReplies++;
        bool enough = _server.TakeAckReply(acks, reply, out long acknowledged);
        if (_awaitingAck is not { Count: > 0 } held) return;
        _server.Stats.AddAckedWrites(held.Count);
        foreach (var request in held)
        {
            if (!enough) request.ReplaceReply(acks.Shortfall(acknowledged));
            Deliver(request);
        }
        held.Clear();
    }

    /// <summary>Completes a request whose reply is in its payload, and wakes its client.</summary>
    private void Deliver(ProxyRequest request)
    {
        var client = request.Client!;
        var parent = request.Parent;
        int replyLength = request.Payload.Length;
        request.SetCompletedQuietly();
        Wake(client, BytesNowHeld(parent, replyLength));
    }

    /// <summary>
    /// The reply bytes a completed request gives its client to hold: its own reply, or for a split command's part
    /// (which it tells its parent is in) the merged reply once it was the last part, else nothing yet.
    /// </summary>
    private static long BytesNowHeld(IReplyGatherer? parent, int replyLength) =>
        parent is null ? replyLength : parent.ChildCompleted() is { } whole ? whole.Payload.Length : 0;

    /// <summary>
    /// Hands a request the cluster sent elsewhere (MOVED, ASK, TRYAGAIN) to the redirect follower, which sends it on
    /// with its place in its client's reply queue unchanged. It has left this link: counted here as answered, before
    /// the follower may send it (and another link complete it).
    /// </summary>
    private bool Redirected(IRedirectFollower redirects, ProxyRequest request, ReadOnlySpan<byte> reply)
    {
        if (!redirects.IsRedirect(reply)) return false;
        _readRequestBytes += request.Payload.Length;
        _readReplies++;
        redirects.Follow(_server, request, reply);
        return true;
    }

    /// <summary>
    /// The end of a transaction gathered whole in a cluster pool. When the cluster refused it because its slot lives
    /// elsewhere (a queued command answered -MOVED, and EXEC -EXECABORT: nothing ran), the follower sends the whole
    /// transaction to the node named; otherwise the gathered replies become the request's payload, as in other pools.
    /// </summary>
    private bool TransactionRedirected(IRedirectFollower follower, ProxyRequest request, ReadOnlySpan<byte> reply)
    {
        var gathered = _gathered!;
        _gathering = null;
        _readRequestBytes += request.Payload.Length;
        if (reply.StartsWith("-EXECABORT"u8) && FirstMoved(gathered.Span) is { Length: > 0 } moved)
        {
            _readReplies++;
            request.PendingReplies = request.ExtraReplies;
            follower.Follow(_server, request, moved);
            gathered.Clear();
            return true;
        }
        request.Payload.Clear();
        request.Payload.Write(gathered.Span);
        gathered.Clear();
        _gathering = request; // the usual end of a gathered transaction follows, with EXEC's reply
        return false;
    }

    /// <summary>The first -MOVED among gathered replies (MULTI's +OK, then each queued command's), or nothing.</summary>
    private static ReadOnlySpan<byte> FirstMoved(ReadOnlySpan<byte> replies)
    {
        var scanner = new ReplyScanner(); // (only after an EXECABORT)
        while (replies.Length > 0 && scanner.TryScan(replies, out int length))
        {
            if (replies.StartsWith("-MOVED "u8)) return replies[..length];
            replies = replies[length..];
        }
        return default;
    }

    /// <summary>
    /// Keeps a push for the client of the oldest request in flight, when it is one that gets its reply unchanged
    /// (not a part of a split command or a transaction gathered whole, whose replies are merged); bounded, since only
    /// a request's own pushes can arrive here.
    /// </summary>
    private void KeepPushForOldest(ReadOnlySpan<byte> push)
    {
        if (_gathering is not null || !InFlight.TryPeek(out var oldest) || oldest.Parent is not null
            || oldest.PendingReplies != 0 || (_pushes?.Length ?? 0) + push.Length > MaxPushBytes)
            return;
        _pushesFor = oldest;
        _pushes = _pushes is null ? push.ToArray() : [.. _pushes, .. push];
    }

    /// <summary>The pushes that came before this request's reply, or nothing.</summary>
    private ReadOnlySpan<byte> TakePushes(ProxyRequest request)
    {
        if (_pushes is null) return default;
        var pushes = ReferenceEquals(_pushesFor, request) ? _pushes : null;
        _pushes = null;
        _pushesFor = null;
        return pushes;
    }

    /// <summary>
    /// The reply at the start of the buffer is not whole yet. Once it is large, its bytes pass on to the client as
    /// they come (the client writes them as soon as the earlier replies are out), so a reply of any size crosses the
    /// proxy in bounded memory. Only a reply that goes to its client unchanged passes on this way: not a part of a
    /// split command (merged with the others) nor a transaction gathered whole.
    /// </summary>
    private void PassOnPartialReply(ByteBuffer buffer)
    {
        int passable = _scanner.Passable;
        var request = _streaming;
        if (request is null)
        {
            if (passable < StreamThreshold || _gathering is not null || !InFlight.TryPeek(out var oldest)
                || oldest.Parent is not null || oldest.PendingReplies != 0)
                return;
            // A durable write's reply is held whole until the WAIT after it answers (it may be replaced by NOREPLICAS),
            // as far as its client's client_output_buffer; a larger one would close the client anyway, so it is closed
            // now and the rest of the reply is read and dropped.
            if (oldest.AwaitsReplicas && !LargerThanClientMayHold(oldest, passable)) return;
            InFlight.TryDequeue(out request);
            _readRequestBytes += request.Payload.Length;
            request.BeginStream();
            request.AppendStreamed(TakePushes(request));
            _streaming = request;
            _streamWaitLeft = StreamWaitBudget;
        }
        if (passable == 0) return;
        var client = request.Client!;
        if (!client.IsClosed)
        {
            request.AppendStreamed(buffer.Span[..passable]);
            client.AccountReply(passable); // over client_output_buffer, the client is closed: the rest is dropped
            Wake(client);
            _streamWaitLeft += TimeSpan.FromSeconds(passable / StreamPace);
        }
        buffer.Consume(passable);
        _scanner.Discard(passable);
    }

    /// <summary>True (closing the client) when a held reply of <paramref name="bytes"/> is more than its client may hold.</summary>
    private static bool LargerThanClientMayHold(ProxyRequest request, int bytes)
    {
        var client = request.Client!;
        if (client.HeldBytes + bytes <= client.OutputBufferLimit) return false;
        client.Close();
        return true;
    }

    /// <summary>Stops reading until the client of the reply passing through has taken half its window, within the budget.</summary>
    private async Task WaitForStreamClientAsync(IReplyOwner client)
    {
        var time = _server.Time;
        long started = time.GetTimestamp();
        var drained = client.WhenHeldAtMostAsync(WindowOf(client) / 2);
        await Task.WhenAny(drained, Task.Delay(_streamWaitLeft, time));
        _streamWaitLeft -= time.GetElapsedTime(started);
    }

    private static long WindowOf(IReplyOwner client) => Math.Min(StreamWindow, client.OutputBufferLimit / 2);

    private void EndStream(ProxyRequest request, ReadOnlySpan<byte> last)
    {
        var client = request.Client!;
        RecordTiming(request, isError: false);
        request.EndStream(last);
        client.AccountReply(last.Length);
        Wake(client);
        _readReplies++;
    }

    private void RecordTiming(ProxyRequest request, bool isError)
    {
        var metrics = _server.Commands;
        var sampler = _server.RequestSampler;
        if (metrics is null && (sampler is null || sampler.Every == 0)) return;
        // Raw, not the TimeProvider: once per server socket read (every reply in it arrived together), on the same clock
        // as the request's start; it measures latency and decides nothing.
        if (_readNow == 0) _readNow = Stopwatch.GetTimestamp();
        metrics?.Record(request.CommandId, _readNow - request.StartTimestamp, isError);
        sampler?.Observe(_server.Pool.Name, _server.Label, request.CommandId, _readNow - request.StartTimestamp, isError);
    }

    /// <summary>Wakes each client once per read, when the read is done (a client met twice is woken twice: harmless).</summary>
    private void Wake(IReplyOwner client) => Wake(client, 0);

    /// <summary>
    /// Notes that this read completed <paramref name="bytes"/> of <paramref name="client"/>'s replies: counted for the
    /// client once per run of its replies (a pipeline's replies come together), and the client woken once at the end
    /// of the read, after every count.
    /// </summary>
    private void Wake(IReplyOwner client, long bytes)
    {
        if (ReferenceEquals(client, _readLast))
        {
            _readLastBytes += bytes;
            return;
        }
        if (_readLast is not null)
        {
            if (_readLastBytes != 0) _readLast.AccountReply(_readLastBytes);
            _toWake.Add(_readLast);
        }
        _readLast = client;
        _readLastBytes = bytes;
    }

    private void EndOfRead()
    {
        if (_readRequestBytes != 0)
        {
            Interlocked.Add(ref _inFlightBytes, -_readRequestBytes);
            _readRequestBytes = 0;
        }
        if (_readReplies != 0)
        {
            Interlocked.Add(ref _inFlightCount, -_readReplies);
            _server.Stats.AddResponses(_readReplies);
            _readReplies = 0;
        }
        if (_readLast is not null && _readLastBytes != 0) _readLast.AccountReply(_readLastBytes);
        foreach (var client in _toWake) client.WakeFlusherAtTurnEnd();
        _toWake.Clear();
        _readLast?.WakeFlusherAtTurnEnd();
        _readLast = null;
        _readLastBytes = 0;
    }

    /// <summary>
    /// A master that answers -READONLY has been demoted, one that answers -LOADING is restarting: the topology has
    /// moved under us. The client gets the error as it is (a write is never silently retried); the server asks for a
    /// re-check of who is master.
    /// </summary>
    private void CheckTopologyError(ReadOnlySpan<byte> reply)
    {
        if (reply.StartsWith("-READONLY"u8) || reply.StartsWith("-LOADING"u8)) _server.ReportTopologySuspect();
    }

    private int FailInFlight()
    {
        // The writer may be between its dead-check and its enqueue: wait for it to leave before the final drain.
        var spin = new SpinWait();
        while (Volatile.Read(ref _writers) != 0) spin.SpinOnce();
        string error = _failWith ?? $"ERR rampart: connection to server {_server.Label} lost ({_deathReason})";
        int failed = 0;
        _gathered?.Dispose();
        if (_gathering is { } gathering)
        {
            _gathering = null;
            _server.RecordFailure(gathering);
            gathering.Fail(error);
            failed++;
        }
        if (_streaming is { } streaming)
        {
            // Its client has part of the reply already: an error cannot follow it, so the client is closed, as if
            // it had lost its connection to the server.
            _streaming = null;
            _server.RecordFailure(streaming);
            streaming.Client!.Close();
            streaming.SetCompletedQuietly();
            failed++;
        }
        var fallback = _server.Fallback;
        if (_awaitingAck is { Count: > 0 } held)
        {
            // Writes the master answered but no WAIT confirmed: they may or may not persist, and the error says so.
            foreach (var request in held)
            {
                _server.RecordFailure(request);
                request.Fail(error);
                failed++;
            }
            held.Clear();
        }
        while (InFlight.TryDequeue(out var request))
        {
            if (request.IsAckProbe) continue; // no client waits for it
            if (fallback is not null && fallback.TryResend(request)) continue;
            _server.RecordFailure(request);
            request.Fail(error);
            failed++;
        }
        return failed;
    }
}
