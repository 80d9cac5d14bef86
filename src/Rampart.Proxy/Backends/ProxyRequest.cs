using System.Collections.Concurrent;
using Rampart.Protocol;

namespace Rampart.Proxy.Backends;

/// <summary>
/// One client request on its way through the proxy, and then its reply. Each request is its own object with its own
/// completion (the ordering invariant): the client session queues it in request order, a server connection completes
/// it, and only the session, once it has written the reply, gives it back to the pool.
/// </summary>
internal sealed class ProxyRequest
{
    private const int InitialPayload = 256;
    // A pooled request keeps a payload array up to this size: the pool holds up to MaxPooled of them after a burst.
    private const int KeepPayload = 2 * 1024;
    private const int MaxPooled = 16 * 1024;

    /// <summary>What a request and its payload buffer cost besides the payload's array (object headers and fields).</summary>
    public const int ObjectBytes = 128;

    /// <summary>
    /// What a queued request holds besides its reply: the objects, and the payload array it keeps once its reply has
    /// replaced a large request (a larger one is given back when the reply comes, <see cref="CompleteQuietly"/>).
    /// </summary>
    public static int HeldBytesWhileQueued(ProxyRequest request) => ObjectBytes + Math.Min(request.Payload.Capacity, KeepPayload);
    private static readonly ConcurrentQueue<ProxyRequest> Pool = new();
    private static int _pooled;
    // Requests are rented by a client's read and given back by its flusher, both almost always on the client's event
    // loop: a small stack per thread serves them without an interlocked operation; the shared queue behind it takes
    // the overflow and balances between threads.
    [ThreadStatic] private static Stack<ProxyRequest>? t_cache;
    private const int ThreadCacheSize = 256;

    /// <summary>The request bytes in RESP until written to a server; then the reply bytes.</summary>
    public readonly ByteBuffer Payload;

    public ProxyRequest() : this(new ByteBuffer(InitialPayload)) { }

    private ProxyRequest(ByteBuffer payload) => Payload = payload;

    /// <summary>Whom the reply is for (the client session), known to Backends only as an <see cref="IReplyOwner"/>.</summary>
    public IReplyOwner? Client;
    /// <summary>Set on the per-server parts of a split multi-key command: completion goes to the parent.</summary>
    public IReplyGatherer? Parent;
    /// <summary>Next request of the same client, in request order (the session's queue is an intrusive list).</summary>
    public ProxyRequest? Next;
    /// <summary>
    /// A whole transaction sent as one request (MULTI, its commands, EXEC): the replies beyond the first it gets
    /// (<see cref="ExtraReplies"/>), and how many of them are still to come (counted down by the server reader).
    /// </summary>
    public int ExtraReplies;
    public int PendingReplies;
    /// <summary>When the request was handed to the server socket (ms on the proxy's TimeProvider), for timeouts.</summary>
    public long SentTick;
    /// <summary>CLIENT REPLY OFF/SKIP: the reply is not written to the client (the request still keeps its place).</summary>
    public bool Silent;
    /// <summary>The command's <see cref="Rampart.Protocol.Commands.CommandInfo.Id"/>, for per-command metrics.</summary>
    public int CommandId;
    /// <summary>Stopwatch timestamp of the client read that brought the request: latency is measured from here.</summary>
    public long StartTimestamp;
    /// <summary>The bytes its client counted for this request when it was queued (released when its reply is written).</summary>
    public int HeldCost;
    /// <summary>Cluster pools: times this request was sent on after a MOVED, ASK or TRYAGAIN (bounded, see Pools.ClusterRedirects).</summary>
    public byte Redirections;
    /// <summary>
    /// Replies the server reader drops before this request's own: the <c>+OK</c> of the ASKING sent ahead of it in its
    /// payload after an ASK redirection (<see cref="AskingPrefix"/>).
    /// </summary>
    public byte SkipReplies;
    /// <summary>The payload starts with ASKING (an ASK redirection): removed again if the request must be sent elsewhere.</summary>
    public bool AskingPrefix;
    /// <summary>
    /// A write in a pool with <c>min_replicas_ack</c>: its connection sends a WAIT after its batch, and its reply is held
    /// until the WAIT answers (see <see cref="WriteAcks"/>).
    /// </summary>
    public bool AwaitsReplicas;
    /// <summary>Set on the WAIT a connection sent after a batch of writes: what it asked for. No client waits for it.</summary>
    public WriteAcks? AckProbe;

    /// <summary>True for the WAIT a connection sent after a batch of writes (<see cref="AckProbe"/>).</summary>
    public bool IsAckProbe => AckProbe is not null;
    private volatile bool _completed;
    private volatile bool _streaming;

    public bool IsCompleted => _completed;

    /// <summary>
    /// True once the server's reply started to pass through in parts (a large reply): the payload then holds the part
    /// received and not yet taken by the client, under a lock, until <see cref="EndStream"/> completes the request.
    /// </summary>
    public bool IsStreaming => _streaming;

    /// <summary>
    /// The head of a client's reply queue before its first request: never pooled, never given a reply, so its
    /// payload holds no array (an idle client holds only this object).
    /// </summary>
    public static ProxyRequest QueueHead(IReplyOwner client) => new(ByteBuffer.Lazy(InitialPayload)) { Client = client };

    public static ProxyRequest Rent(IReplyOwner client)
    {
        if (t_cache is not { } cache || !cache.TryPop(out var request))
        {
            if (Pool.TryDequeue(out request)) Interlocked.Decrement(ref _pooled);
            else request = new ProxyRequest();
        }
        request.Client = client;
        return request;
    }

    /// <summary>
    /// Replaces the payload with the server's reply and marks the request done, without waking its client: the
    /// server reader completes a whole read's worth of replies first and then wakes each client once, so a client
    /// with many pipelined requests gets one write, not one per reply. Read <see cref="Client"/> before calling:
    /// once completed, the request may be recycled at any moment.
    /// </summary>
    public void CompleteQuietly(ReadOnlySpan<byte> reply) => CompleteQuietly(default, reply);

    /// <summary>Completes with RESP3 pushes the server sent before the reply (usually none), then the reply.</summary>
    public void CompleteQuietly(ReadOnlySpan<byte> pushes, ReadOnlySpan<byte> reply)
    {
        ClearForReply();
        if (!pushes.IsEmpty) Payload.Write(pushes);
        Payload.Write(reply);
        _completed = true;
    }

    /// <summary>Completes with an error line, for example "ERR timeout".</summary>
    public void Fail(string error)
    {
        ClearForReply();
        // One error per reply the client waits for (a whole transaction waits for several).
        for (int i = 0; i <= ExtraReplies; i++) RespWriter.Error(Payload, error);
        MarkCompleted();
    }

    // The request's bytes are done with: a large request's array goes back now, not when its client reads the reply.
    private void ClearForReply()
    {
        Payload.Clear();
        Payload.ShrinkIfEmpty(KeepPayload);
    }

    /// <summary>Completes with whatever the payload holds now (a reply written locally), and wakes the client.</summary>
    public void MarkCompleted()
    {
        var client = Client!;
        _completed = true;
        if (Parent is { } parent)
        {
            // A part of a split command: the client only hears of the merged parent, once every part is in.
            if (parent.ChildCompleted() is { } whole) client.OnRequestCompleted(whole);
            return;
        }
        client.OnRequestCompleted(this);
    }

    /// <summary>Marks done without waking anyone (the caller wakes the client).</summary>
    public void SetCompletedQuietly() => _completed = true;

    /// <summary>Takes the reply like <see cref="CompleteQuietly(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>, without completing: it waits for the replicas' acknowledgement.</summary>
    public void HoldReply(ReadOnlySpan<byte> pushes, ReadOnlySpan<byte> reply)
    {
        ClearForReply();
        if (!pushes.IsEmpty) Payload.Write(pushes);
        Payload.Write(reply);
    }

    /// <summary>
    /// Holds a whole transaction's gathered replies (already in the payload, EXEC's last, from
    /// <paramref name="execReplyStart"/>) until the replicas' acknowledgement: only EXEC's reply is replaced if it
    /// falls short, since the client has already been promised MULTI's +OK and a +QUEUED per command.
    /// </summary>
    public void HoldTransactionReply(int execReplyStart) => _heldReplyStart = execReplyStart;

    /// <summary>Replaces a held reply (for a transaction, EXEC's) with an error: the replicas did not acknowledge it in time.</summary>
    public void ReplaceReply(string error)
    {
        if (_heldReplyStart > 0) Payload.Truncate(_heldReplyStart);
        else ClearForReply();
        RespWriter.Error(Payload, error);
    }

    // Where a held transaction's EXEC reply starts in the payload (0: the whole payload is the held reply).
    private int _heldReplyStart;

    /// <summary>The server reader starts passing the reply on in parts: the request bytes are not needed any more.</summary>
    public void BeginStream()
    {
        ClearForReply();
        _streaming = true;
    }

    /// <summary>The server reader adds a part of the reply (its client may be taking the previous one meanwhile).</summary>
    public void AppendStreamed(ReadOnlySpan<byte> part)
    {
        lock (Payload) Payload.Write(part);
    }

    /// <summary>The reply's last part: the request is complete (without waking its client).</summary>
    public void EndStream(ReadOnlySpan<byte> last)
    {
        lock (Payload)
        {
            Payload.Write(last);
            _completed = true;
        }
    }

    /// <summary>
    /// The client takes the parts received so far into <paramref name="output"/> (null: drops them, for a closed or
    /// silenced client) and returns their length.
    /// </summary>
    public int TakeStreamed(ByteBuffer? output)
    {
        lock (Payload)
        {
            if (_completed) return 0; // the rest is taken with the completed reply, outside the lock
            int length = Payload.Length;
            output?.Write(Payload.Span);
            Payload.Clear();
            return length;
        }
    }

    public void Return()
    {
        Client = null;
        Parent = null;
        Next = null;
        Silent = false;
        ExtraReplies = PendingReplies = HeldCost = _heldReplyStart = 0;
        Redirections = SkipReplies = 0;
        AskingPrefix = AwaitsReplicas = false;
        AckProbe = null;
        _completed = false;
        _streaming = false;
        Payload.Clear();
        Payload.ShrinkIfEmpty(KeepPayload);
        var cache = t_cache ??= new Stack<ProxyRequest>(ThreadCacheSize);
        if (cache.Count < ThreadCacheSize)
        {
            cache.Push(this);
            return;
        }
        if (Interlocked.Increment(ref _pooled) <= MaxPooled) Pool.Enqueue(this);
        else
        {
            Interlocked.Decrement(ref _pooled);
            Payload.Dispose();
        }
    }
}
