using Rampart.Protocol;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// The dedicated server connection a <see cref="PinnedSession"/> holds, whatever state it holds it for: renting it,
/// the requests out on it in request/reply mode (each with its slot in the client's reply queue, completed in FIFO
/// order by the one reply it gets), the blocking calls among them, and giving the connection back (as it is, cleaned,
/// or closed). It knows nothing of transactions or subscriptions: the session says how to give the connection back.
/// </summary>
/// <remarks>
/// Not thread-safe: every member runs under the owning session's lock, except the reads documented as lock-free
/// (<see cref="Blocked"/> for CLIENT LIST, <see cref="MarkForUnblock"/> for another client's CLIENT UNBLOCK).
/// </remarks>
internal sealed class DedicatedLink
{
    private readonly ClientSession _session;
    private readonly IPinnedReceiver _receiver;
    private readonly bool _resp3;
    // Requests sent and not yet answered, in the order sent. A null slot is Rampart's own command (a held MULTI) whose
    // reply is dropped; ReplaceWith answers the slot with that error whatever the server says (DISCARD for EXECABORT).
    private readonly Queue<(ProxyRequest? Slot, string? ReplaceWith, bool Blocks, WriteAcks? Acks, bool Exec)> _inFlight = new();
    // Durable writes (min_replicas_ack): a request sent with Acks has a WAIT right behind it, whose reply is the next one
    // after its own. Set from the request's reply to the WAIT's: the WAIT out, and the request whose reply it holds
    // (null when that reply was an error and went out at once).
    private WriteAcks? _waitOut;
    private ProxyRequest? _heldForWait;
    // Blocking calls sent and not yet answered (CLIENT LIST's b flag); read without the lock by other clients.
    private volatile int _blockedCalls;
    private PinnedConnection? _conn;
    private bool _released;
    // A reply was completed during this socket read: the client is woken once, when the read is done.
    private bool _wake;

    public DedicatedLink(ClientSession session, IPinnedReceiver receiver, bool resp3)
    {
        _session = session;
        _receiver = receiver;
        _resp3 = resp3;
    }

    /// <summary>The server of the connection held (or last held: it stays set while a subscriber reconnects).</summary>
    public ServerEndpoint? Server { get; private set; }

    /// <summary>The connection held; null before the first one is taken, and while a lost one is being replaced.</summary>
    public PinnedConnection? Connection => _conn;

    /// <summary>The pin is over: the connection went back; nothing more is sent or completed.</summary>
    public bool Released => _released;

    /// <summary>Replies still due on the connection: the requests out, and a WAIT after a durable write's reply.</summary>
    public int InFlight => _inFlight.Count + (_waitOut is null ? 0 : 1);

    /// <summary>A blocking call is out (lock-free read, for CLIENT LIST: a snapshot, never used for a decision).</summary>
    public bool Blocked => _blockedCalls > 0;

    /// <summary>True when <paramref name="from"/> is the connection this pin holds and the pin still lasts.</summary>
    public bool Owns(PinnedConnection from) => ReferenceEquals(from, _conn) && !_released;

    /// <summary>
    /// Takes a dedicated connection to <paramref name="server"/> for <paramref name="use"/>; false with the reason
    /// when there is none free, or the one given failed at once (before it was ours to hear about).
    /// </summary>
    public bool TryRent(ServerEndpoint server, PinnedUse use, out string? error)
    {
        AskedSlot = -1;
        var conn = server.Pinned.TryRent(_receiver, _resp3, use, out error);
        if (conn is not null && conn.IsDead)
        {
            conn.Detach();
            error = server.UnavailableReason ?? $"ERR rampart: server {server.Label} unavailable";
            conn = null;
        }
        if (conn is null) return false;
        Server = server;
        _conn = conn;
        return true;
    }

    /// <summary>
    /// In a cluster pool, the slot this connection's node was reached for by an ASK (it imports that slot, and answers
    /// for it only behind ASKING), or -1. Set by the session after <see cref="TryRent"/>, which clears it.
    /// </summary>
    public int AskedSlot { get; set; } = -1;

    /// <summary>The connection is gone (its owner heard OnLost): what it still owed is failed by the caller.</summary>
    public void Lost() => _conn = null;

    /// <summary>Queues bytes on the connection, written at the next flush; false when it is dead or there is none.</summary>
    public bool TrySend(ReadOnlySpan<byte> bytes) => _conn is not null && _conn.Send(bytes, flush: false);

    /// <summary>
    /// Sends commands whose <paramref name="replies"/> replies nobody reads (MULTI and the keyless commands held before
    /// the transaction's first key): each takes a place in the FIFO and its reply is dropped.
    /// </summary>
    public void SendUnanswered(ReadOnlySpan<byte> bytes, int replies)
    {
        if (!_conn!.Send(bytes, flush: false)) return;
        for (int i = 0; i < replies; i++) _inFlight.Enqueue((null, null, false, null, false));
    }

    /// <summary>
    /// Sends <paramref name="bytes"/> (or the slot's own payload) and waits for one reply into the slot; when the
    /// connection is dead the slot gets <paramref name="failWith"/> (or "connection lost") at once. With
    /// <paramref name="acks"/> (a durable write: min_replicas_ack) a WAIT follows it, and its reply is held until the
    /// WAIT answers (see <see cref="Complete"/>); <paramref name="exec"/> says it is EXEC, whose null reply ran nothing.
    /// </summary>
    public void Enqueue(ProxyRequest slot, byte[]? bytes, string? replaceWith, bool blocks, string? failWith, WriteAcks? acks = null, bool exec = false)
    {
        if (!_conn!.Send(bytes ?? slot.Payload.Span, flush: false) || acks is not null && !_conn.Send(acks.Command, flush: false))
        {
            // (also when only the WAIT was refused: the connection died in between, and the slot is in no FIFO to fail)
            slot.Fail(failWith ?? $"ERR rampart: connection to server {Server!.Label} lost");
            return;
        }
        _inFlight.Enqueue((slot, replaceWith, blocks, acks, exec));
        if (blocks) _blockedCalls++;
    }

    /// <summary>
    /// A reply in request/reply mode: completes the oldest request out. False when it answered nothing the session
    /// must look at: a RESP3 push (none is expected outside subscribed mode), or a reply with nothing waiting (a
    /// protocol fault: the connection is killed, and its loss fails the rest).
    /// </summary>
    public bool Complete(PinnedConnection from, ReadOnlySpan<byte> reply)
    {
        if (_resp3 && reply[0] == (byte)'>') return false;
        if (_waitOut is { } wait)
        {
            ReleaseHeld(wait, reply);
            return true;
        }
        if (!_inFlight.TryDequeue(out var call))
        {
            from.Kill("a reply arrived with no request waiting for it");
            return false;
        }
        if (call.Blocks) _blockedCalls--;
        if (call.Slot is not { } slot) return true; // a reply to Rampart's own command (a held MULTI): dropped
        if (call.Acks is { } acks)
        {
            // A durable write: its WAIT's reply comes next. A reply that ran something waits for it; an error goes now.
            _waitOut = acks;
            if (call.ReplaceWith is null && WriteAcks.Holds(reply, call.Exec))
            {
                slot.HoldReply(default, reply);
                _heldForWait = slot;
                return true;
            }
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
        return true;
    }

    /// <summary>
    /// The WAIT after a durable write answered: the write's held reply goes out when enough replicas have it, else the
    /// NOREPLICAS error replaces it (for EXEC: the whole EXEC reply; the transaction ran on the master, but may not
    /// survive it).
    /// </summary>
    private void ReleaseHeld(WriteAcks acks, ReadOnlySpan<byte> reply)
    {
        _waitOut = null;
        var server = Server!;
        bool enough = server.TakeAckReply(acks, reply, out long acknowledged);
        if (_heldForWait is not { } held) return;
        _heldForWait = null;
        server.Stats.AddAckedWrites(1);
        if (!enough) held.ReplaceReply(acks.Shortfall(acknowledged));
        held.SetCompletedQuietly();
        _session.AccountReply(held.Payload.Length);
        _wake = true;
    }

    /// <summary>
    /// Takes back the one request out when it is a blocking call the client waits for (not Rampart's own command), so
    /// that it can be sent elsewhere: a cluster answered it -MOVED or -ASK. False, taking nothing, otherwise.
    /// </summary>
    public bool TryTakeOnlyBlockingCall(out ProxyRequest slot, out WriteAcks? acks)
    {
        slot = null!;
        acks = null;
        if (_inFlight.Count != 1 || _waitOut is not null || _inFlight.Peek() is not { Slot: { } only, ReplaceWith: null, Blocks: true } call) return false;
        _inFlight.Dequeue();
        _blockedCalls--;
        slot = only;
        acks = call.Acks; // a durable write's WAIT is still due on this connection: see DropWaitReply
        return true;
    }

    /// <summary>
    /// Takes back the one request out when it is a plain request the client waits for (not a blocking call, not
    /// Rampart's own command), so that it can be sent to another node. False, taking nothing, otherwise.
    /// </summary>
    public bool TryTakeOnlyRequest(out ProxyRequest slot, out WriteAcks? acks)
    {
        slot = null!;
        acks = null;
        if (_inFlight.Count != 1 || _waitOut is not null || _inFlight.Peek() is not { Slot: { } only, ReplaceWith: null, Blocks: false } call) return false;
        _inFlight.Dequeue();
        slot = only;
        acks = call.Acks; // a durable write's WAIT is still due on this connection: see DropWaitReply
        return true;
    }

    /// <summary>
    /// A durable request was taken back (<see cref="TryTakeOnlyRequest"/>) and the connection stays: the reply of the
    /// WAIT sent behind it is still due, and is dropped when it comes. (A connection given back instead is cleaned,
    /// which drops it too.)
    /// </summary>
    public void DropWaitReply(WriteAcks acks) => _waitOut = acks;

    /// <summary>
    /// Takes back every request out, in order, when each is a plain request the client waits for (not a blocking call,
    /// not Rampart's own command, not one answered with a set error) and no WAIT reply is due, so that they can be
    /// sent to another node together, each with its durable write's WAIT (EXEC's) and whether it is EXEC. False,
    /// taking nothing, otherwise.
    /// </summary>
    public bool TryTakeAllRequests(List<(ProxyRequest Slot, WriteAcks? Acks, bool Exec)> into)
    {
        if (_waitOut is not null) return false;
        foreach (var call in _inFlight)
            if (call is not { Slot: not null, ReplaceWith: null, Blocks: false }) return false;
        while (_inFlight.TryDequeue(out var call)) into.Add((call.Slot!, call.Acks, call.Exec));
        return true;
    }

    /// <summary>
    /// Closes the connection held instead of giving it back: replies are still due on it for requests taken off it
    /// (<see cref="TryTakeAllRequests"/>), so its state cannot be cleaned. It stays attached, so that what it still
    /// delivers reaches a session that no longer owns it and drops it (<see cref="Owns"/>).
    /// </summary>
    public void Abandon(string reason)
    {
        var conn = _conn;
        _conn = null;
        conn?.Kill(reason);
    }

    /// <summary>
    /// Moves a subscriber to a connection to <paramref name="server"/> (its shard channel's slot moved there): the new
    /// connection is taken first, so that when there is none the old one stays; the old one goes back cleaned of its
    /// subscriptions. False with the reason when no connection could be had.
    /// </summary>
    public bool TryMoveTo(ServerEndpoint server, PinnedUse use, out string? error)
    {
        var old = _conn;
        var oldServer = Server;
        if (!TryRent(server, use, out error))
        {
            _conn = old;
            Server = oldServer;
            return false;
        }
        if (old is not null)
        {
            old.Flush();
            old.CleanAndReturn(multi: false, subscribed: true);
        }
        return true;
    }

    /// <summary>Answers a request with an error without waking the client (woken once the read is done).</summary>
    public void FailQuietly(ProxyRequest slot, string error)
    {
        slot.Payload.Clear();
        RespWriter.Error(slot.Payload, error);
        slot.SetCompletedQuietly();
        _session.AccountReply(slot.Payload.Length);
        _wake = true;
    }

    /// <summary>Fails every request still out (the connection was lost), in order.</summary>
    public void FailInFlight(string error)
    {
        // A durable write answered by the master whose WAIT did not answer: it may or may not persist, as the error says.
        _heldForWait?.Fail(error);
        _heldForWait = null;
        _waitOut = null;
        while (_inFlight.TryDequeue(out var call)) call.Slot?.Fail(error);
        _blockedCalls = 0;
    }

    public void MarkWake() => _wake = true;

    /// <summary>Whether the client must be woken for this read's replies; clears the mark.</summary>
    public bool TakeWake()
    {
        bool wake = _wake;
        _wake = false;
        return wake;
    }

    public void Flush() => _conn?.Flush();

    /// <summary>
    /// CLIENT UNBLOCK of this client (another client's read loop, without the pin's lock: two pinned clients unblocking
    /// each other must not deadlock): the server and server-side id of the connection a blocking call is out on, or
    /// null. The connection is marked first, so it is never lent again (<see cref="PinnedConnection.NotReusable"/>):
    /// either the mark is seen when the connection is given back, or the call's end (which comes before any give-back)
    /// is seen here and nothing is sent. Both sides are fenced (the mark by Interlocked, the give-back by the pool's lock).
    /// </summary>
    public (ServerEndpoint Server, long ServerClientId)? MarkForUnblock()
    {
        var conn = Volatile.Read(ref _conn);
        if (conn is null || _blockedCalls == 0) return null;
        conn.MarkNotReusable();
        if (Volatile.Read(ref _released) || _blockedCalls == 0 || !ReferenceEquals(Volatile.Read(ref _conn), conn) || conn.IsDead) return null;
        long id = conn.ServerClientId;
        return id == 0 ? null : (conn.Server, id);
    }

    /// <summary>A tracking client's REDIRECT names this client (under the pin's lock): see IClientPin.RedirectTargetOn.</summary>
    public long? RedirectTargetOn(ServerEndpoint server)
    {
        if (_released || _conn is not { IsDead: false } conn || !ReferenceEquals(conn.Server, server) || conn.ServerClientId == 0)
            return null;
        conn.MarkNotReusable();
        return conn.ServerClientId;
    }

    /// <summary>Marks the pin over; false when it already was. The connection is given back by <see cref="GiveBack"/>.</summary>
    public bool TryMarkReleased()
    {
        if (_released) return false;
        _released = true;
        return true;
    }

    /// <summary>
    /// Gives the connection back: as it is when <paramref name="asIs"/> (no state left on it); after DISCARD/UNWATCH/
    /// unsubscribe-all when only its session state is left; closed when a reply is still outstanding (a blocked call),
    /// since its state is then unknown, or when it must never be lent again.
    /// </summary>
    public void GiveBack(bool asIs, bool inMulti, bool subscribed)
    {
        var conn = _conn;
        _conn = null;
        if (conn is null) return;
        conn.Flush();
        if (InFlight > 0 || conn.NotReusable)
        {
            // A reply outstanding leaves its state unknown; a connection never to be lent again (a REDIRECT target)
            // closes now, so the server knows at once that the client it stood for is gone (tracking-redir-broken).
            conn.Detach();
            conn.Kill(conn.NotReusable ? "its client left" : "client left with a reply outstanding");
        }
        else if (asIs) conn.Server.Pinned.Return(conn);
        else conn.CleanAndReturn(inMulti, subscribed);
    }
}
