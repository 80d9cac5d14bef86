using Rampart.Protocol;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// A pinned client's subscribed (streaming) mode: the dedicated connection is relayed, every reply and message copied
/// into the client's reply queue in server order (one slot per socket read). Requests sent here have no slot of their
/// own; a request Rampart must answer itself first sends a fence (PING with a marker) and waits for its reply, so every
/// earlier reply is out before it. It keeps the channels held (to subscribe again on a new connection), the requests
/// written while there was no connection (the backlog, sent after the resubscription), and counts and numbers the
/// replies (not pushes) still due, so that when the connection is lost each gets an error instead of never arriving,
/// and those of requests sent under CLIENT REPLY OFF/SKIP are left out.
/// </summary>
/// <remarks>Not thread-safe: touched only under the owning <see cref="PinnedSession"/>'s lock, except
/// <see cref="ChannelsOrNull"/>, read without it for CLIENT LIST (a snapshot, never used for a decision).</remarks>
internal sealed class SubscriberState
{
    // PING rampart-fence and its two possible replies (normal and subscribed mode); the same for every session.
    private static readonly byte[] FenceMarker = PinnedSession.RespCommand("PING", "rampart-fence");
    private static readonly byte[] FenceReply = "$13\r\nrampart-fence\r\n"u8.ToArray();
    private static readonly byte[] FenceReplySubscribed = "*2\r\n$4\r\npong\r\n$13\r\nrampart-fence\r\n"u8.ToArray();
    // Inside a RESP3 subscriber's MULTI the server would queue a PING: the fence there is an unknown command.
    private static readonly byte[] FenceMarkerInMulti = PinnedSession.RespCommand("rampart-fence");

    private readonly ClientSession _session;
    private readonly DedicatedLink _link;
    private readonly bool _resp3;
    private Subscriptions? _subscriptionsOrNull;
    // Where this socket read's relayed replies go (completed when the read is done).
    private readonly RelaySlot _relay;
    // Confirmations the client already had, from the connection before a resubscription: not relayed twice.
    private int _swallow;
    // Requests forwarded so far; the count when the last fence's reply came back; the count the open fence covers.
    private long _forwardSeq;
    private long _fencedSeq;
    private long _fenceSeq;
    private TaskCompletionSource? _fence;
    private ByteBuffer? _backlog;
    // Replies (not pushes) still due for requests sent on the connection, and for those in the backlog.
    private int _streamReplies;
    private int _backlogReplies;
    private readonly ReplyNumbering _numbering = new();
    private ShardSlotMoves? _moves;

    public SubscriberState(ClientSession session, DedicatedLink link, bool resp3)
    {
        _session = session;
        _relay = new RelaySlot(session);
        _link = link;
        _resp3 = resp3;
    }

    /// <summary>In subscribed mode: the connection is relayed rather than answering request by request.</summary>
    public bool Active { get; set; }

    public Subscriptions? ChannelsOrNull => _subscriptionsOrNull;
    public Subscriptions Channels => _subscriptionsOrNull ??= new Subscriptions();

    /// <summary>Every reply to what was forwarded before the last fence is out (or was lost).</summary>
    public bool Fenced => _forwardSeq == _fencedSeq;

    /// <summary>RESP3, in MULTI: the refusal being dispatched has had its fence (which flagged the transaction).</summary>
    public bool RefusalFenced { get; set; }

    /// <summary>
    /// Cluster pools: the SSUBSCRIBE that began this subscriber, until its confirmation comes (the slot map may be
    /// stale: a MOVED for it is followed, PinnedSession.ShardChannels.cs), and the redirections it followed.
    /// </summary>
    public byte[]? ShardSubscribeOut { get; set; }
    public int ShardSubscribeRedirects { get; set; }

    /// <summary>Requests forwarded so far (the SSUBSCRIBE above is followed only while it is the last).</summary>
    public long ForwardSeq => _forwardSeq;
    public long ShardSubscribeSeq { get; set; }

    /// <summary>Cluster pools: shard channels whose slot left the node, held back from the client until followed.</summary>
    public ShardSlotMoves Moves => _moves ??= new ShardSlotMoves();

    /// <summary>A moved shard channel waits to be followed and no task follows it yet.</summary>
    public bool ShardMoveToFollow => _moves is { Following: false, Moved.Count: > 0 };

    /// <summary>
    /// The client's SUNSUBSCRIBE (cluster pools), before it is forwarded: see <see cref="ShardSlotMoves.ClientUnsubscribes"/>.
    /// Moved channels the node will not confirm are confirmed now, from the frames the node sent when they left.
    /// </summary>
    public void ClientShardUnsubscribe(Request request)
    {
        if (Moves.ClientUnsubscribes(request, Channels) is not { } confirmations) return;
        foreach (var frame in confirmations) RelayConfirmation(frame);
    }

    /// <summary>Gives a held sunsubscribe to the client as the node sent it (the channel is no longer held).</summary>
    public void RelayConfirmation(byte[] frame)
    {
        Channels.Observe(frame);
        _relay.Write(frame);
    }

    public static bool IsSubscribeFamily(string name) =>
        name is "subscribe" or "psubscribe" or "ssubscribe" or "unsubscribe" or "punsubscribe" or "sunsubscribe";

    /// <summary>A reply or push from the subscribed connection; <paramref name="inMulti"/>: a RESP3 subscriber's MULTI is open.</summary>
    public void OnReply(ReadOnlySpan<byte> reply, bool inMulti)
    {
        if (_fence is not null && (reply.SequenceEqual(FenceReply) || reply.SequenceEqual(FenceReplySubscribed)))
        {
            CompleteFence(arrived: true);
            return;
        }
        if (_fence is not null && inMulti && reply.StartsWith("-ERR unknown command 'rampart-fence'"u8))
        {
            CompleteFence(arrived: true);
            return;
        }
        // A shard channel's slot left the node (cluster pools): the client does not see it until it is followed.
        if (_subscriptionsOrNull is { ShardChannelCount: > 0 } held && (!_resp3 || reply[0] == (byte)'>')
            && _session.Pool.Routing.IsCluster && Moves.TryHoldUnasked(reply, held)) return;
        // RESP3: only a push is a confirmation (an EXEC's array may look like one). RESP2: arrays of known kinds.
        bool confirmation = (!_resp3 || reply[0] == (byte)'>') && Channels.Observe(reply);
        if (confirmation) ShardSubscribeOut = null;
        bool push = _resp3 ? reply[0] == (byte)'>' : confirmation || IsResp2Message(reply);
        if (!push && _streamReplies > 0)
        {
            _streamReplies--;
            if (_numbering.Answer()) return; // its request was sent under CLIENT REPLY OFF/SKIP
        }
        if (confirmation && _swallow > 0)
        {
            _swallow--; // the client already had this confirmation, from the connection before the failover
            return;
        }
        _relay.Write(reply);
    }

    /// <summary>A RESP2 subscribed connection's message (message, pmessage, smessage): a push, not a reply to a command.</summary>
    private static bool IsResp2Message(ReadOnlySpan<byte> reply) =>
        reply.StartsWith("*3\r\n$7\r\nmessage\r\n"u8) || reply.StartsWith("*4\r\n$8\r\npmessage\r\n"u8)
        || reply.StartsWith("*3\r\n$8\r\nsmessage\r\n"u8);

    /// <summary>Completes the slot this read's replies were relayed into; true when there was one (wake the client).</summary>
    public bool CompleteRelay() => _relay.Complete();

    /// <summary>
    /// The subscribed connection was lost: the fence gives up (what it waited for is lost), and requests sent on the
    /// connection get the error in their place, as on the shared path (except those sent while replies were off).
    /// </summary>
    public void OnLost(string error)
    {
        CompleteFence(arrived: false);
        if (_streamReplies == 0) return;
        var lost = ProxyRequest.Rent(_session);
        for (int i = 0; i < _streamReplies; i++)
            if (!_numbering.Answer()) RespWriter.Error(lost.Payload, error);
        _streamReplies = 0;
        _session.AppendUnsilenced(lost);
        _session.AccountReply(lost.Payload.Length);
        lost.SetCompletedQuietly();
    }

    /// <summary>
    /// A new connection replaces the lost one: subscribes again to everything held, then sends the backlog. Returns
    /// how many channels and patterns were subscribed again (their confirmations are not relayed twice).
    /// </summary>
    public int RestoreOn(PinnedConnection conn)
    {
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
        return _swallow;
    }

    /// <summary>
    /// Sends a request whose replies are relayed as they come: no place in the queue. <paramref name="expectsReply"/>:
    /// the server answers it with one reply that is not a push (replies are counted, so those lost with the connection
    /// can be answered with an error, and numbered, so that one sent under CLIENT REPLY OFF/SKIP is left out).
    /// </summary>
    public void Forward(Request request, ReadOnlySpan<byte> raw, bool inline, bool expectsReply = false)
    {
        _forwardSeq++;
        // Each relayed request is "the next command" for CLIENT REPLY SKIP, as in Redis, whether it gets a reply or not.
        bool silent = _session.TakeReplySilence();
        if (expectsReply) _numbering.Expect(silent);
        if (inline)
        {
            using var encoded = new ByteBuffer(256);
            Commands.CommandDispatcher.WriteMultibulk(encoded, request);
            Send(encoded.Span, expectsReply);
        }
        else Send(raw, expectsReply);
    }

    private void Send(ReadOnlySpan<byte> bytes, bool counted = false)
    {
        if (_link.TrySend(bytes))
        {
            if (counted) _streamReplies++;
            return;
        }
        // Reconnecting: it goes after the resubscription.
        (_backlog ??= new ByteBuffer(256)).Write(bytes);
        if (counted) _backlogReplies++;
    }

    /// <summary>
    /// Sends the fence (once) and returns what the client waits for: every earlier reply is then out. Inside a RESP3
    /// subscriber's MULTI (<paramref name="inMulti"/>) it is an unknown command, whose error comes back at once and
    /// flags the transaction. <paramref name="force"/>: a new fence even when every earlier reply is out.
    /// </summary>
    public Task Fence(bool inMulti, bool force)
    {
        if (_fence is null)
        {
            _fence = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (force) _forwardSeq++;
            _fenceSeq = _forwardSeq;
            Send(inMulti ? FenceMarkerInMulti : FenceMarker);
        }
        return _fence.Task;
    }

    private void CompleteFence(bool arrived)
    {
        if (_fence is not { } fence) return;
        _fence = null;
        // When the connection died instead, the replies the fence waited for are lost with it.
        _fencedSeq = arrived ? _fenceSeq : _forwardSeq;
        fence.TrySetResult();
    }

    /// <summary>The pin ended: a waiting fence lets the client go on, and the backlog is dropped.</summary>
    public void Close()
    {
        CompleteFence(arrived: false);
        _backlog?.Dispose();
        _backlog = null;
    }
}
