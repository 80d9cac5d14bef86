using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Commands;

namespace Rampart.Proxy.Pinning;

/// <summary>What a pinned session did with a request.</summary>
internal enum PinnedResult
{
    /// <summary>Answered or sent; the request is consumed.</summary>
    Done,
    /// <summary>Not consumed: the session waits (see <see cref="ClientSession.DeferUntil"/>) and dispatches it again.</summary>
    Deferred,
    /// <summary>Not consumed: dispatch it on the shared path (the pin ended, or the command does not need it).</summary>
    Shared,
}

/// <summary>
/// A client holding a dedicated server connection while it has connection state: a transaction (MULTI ... EXEC), a
/// WATCH, subscriptions, or a blocking call. Every request of a pinned client comes here first (one branch on the
/// session's <c>Pin</c> field keeps this off the shared path), and is dispatched by the mode the pin is in:
/// <list type="bullet">
/// <item>request/reply (PinnedSession.Requests.cs): each request sent on the dedicated connection holds its place in
/// the client's reply queue and is completed by the one reply it gets, exactly as on the shared path;</item>
/// <item>streaming (subscribed; PinnedSession.PubSub.cs and .Resp3.cs): the connection is relayed, every reply and
/// message in server order; a request that Rampart must answer itself first waits for a fence, so all earlier replies
/// are out before it.</item>
/// </list>
/// The state itself lives in its own types: <see cref="DedicatedLink"/> (the connection, the requests out on it and
/// the blocking calls among them, giving it back), <see cref="TransactionState"/> (MULTI, WATCH, held commands) and
/// <see cref="SubscriberState"/> (relay, fences, reply numbering, backlog, channels); this class decides, per request,
/// which of them acts.
/// A client never has requests outstanding on two connections at once when switching between the shared path and its
/// dedicated one: the switch waits until every earlier reply is out, so Redis runs its commands in the order sent.
/// </summary>
/// <remarks>
/// Lock discipline: one lock, <c>_gate</c>, guards this class and the three state types (which have none of their
/// own). It is taken by the client's read loop (Dispatch), the connection's reader (OnReply, OnReadDone, OnLost), the
/// resubscription timer and OnClientClosed; appends to the client's reply queue happen only under it while the client
/// is pinned, so relayed replies and Rampart's own answers keep their order. It is never held while waking the client
/// (WakeFlusher), and never taken by another client: CLIENT LIST's Describe and CLIENT UNBLOCK's MarkForUnblock read
/// without it (two pinned clients unblocking each other must not deadlock).
/// </remarks>
internal sealed partial class PinnedSession : IPinnedReceiver, IClientPin
{
    private const string ProtocolSwitchRefused = "ERR rampart: HELLO cannot change the protocol while this client holds a dedicated connection (a WATCH, subscriptions or a blocking call): its replies come in the protocol the connection was opened with; end that state first";

    private readonly object _gate = new();
    private readonly ClientSession _session;
    // The client's protocol when the pin began: its dedicated connection speaks it (a switch is refused while pinned).
    private readonly bool _resp3;
    private readonly DedicatedLink _link;
    private readonly TransactionState _tx = new();
    // Cluster pools: the transaction state's requests, sent again when its slot moves (PinnedSession.ClusterTransaction.cs).
    private readonly TransactionReplay _replay = new();
    private bool _replayLastIsExec;
    private readonly SubscriberState _sub;
    // A command of this client went on the shared path while pinned: the next one for the dedicated connection waits
    // for its reply (Redis must run them in the order sent).
    private bool _sharedLaneUsed;

    private PinnedSession(ClientSession session)
    {
        _session = session;
        _resp3 = session.Resp3;
        _link = new DedicatedLink(session, this, _resp3);
        _sub = new SubscriberState(session, _link, _resp3);
    }

    // ---------------------------------------------------------------- entry points (client read loop)

    /// <summary>
    /// What CLIENT LIST shows of this client's connection state, as Redis shows it: in MULTI with how many commands
    /// queued, and how many channels, patterns and shard channels it holds. Read without the lock: a snapshot for
    /// people reading CLIENT LIST, never used for a decision.
    /// </summary>
    public (bool InMulti, int Queued, int Channels, int Patterns, int ShardChannels, bool Blocked) Describe()
    {
        var subscriptions = _sub.ChannelsOrNull;
        return (_tx.InMulti, _tx.Queued, subscriptions?.ChannelCount ?? 0, subscriptions?.PatternCount ?? 0,
            subscriptions?.ShardChannelCount ?? 0, _link.Blocked);
    }

    /// <summary>CLIENT UNBLOCK of this client, without this pin's lock: see <see cref="DedicatedLink.MarkForUnblock"/>.</summary>
    public (ServerEndpoint Server, long ServerClientId)? MarkForUnblock() => _link.MarkForUnblock();

    public long? RedirectTargetOn(ServerEndpoint server)
    {
        lock (_gate) return _link.RedirectTargetOn(server);
    }

    /// <summary>A command that needs a dedicated connection, from a client that has none.</summary>
    public static bool Begin(ClientSession session, CommandInfo command, Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        switch (command.Name)
        {
            // Redis's own answers when there is no state to end: no connection needed for them.
            case "exec":
                session.ReplyError("ERR EXEC without MULTI");
                return true;
            case "discard":
                session.ReplyError("ERR DISCARD without MULTI");
                return true;
            case "unwatch":
                ReplyOk(session);
                return true;
            case "unsubscribe" or "punsubscribe" or "sunsubscribe":
                UnsubscribedNothing(session, command, request);
                return true;
        }
        // MULTI ... EXEC all here already, nothing Rampart must see between: one request on the shared connection.
        if (command.Name == "multi" && WholeTransaction.TryForward(session, command, request, raw, inline)) return true;
        // Earlier requests of this client may still be on a shared connection: Redis must run them first.
        if (session.HasPendingReplies)
        {
            session.DeferUntilDrained();
            return false;
        }
        var pin = new PinnedSession(session);
        session.Pin = pin;
        lock (pin._gate)
        {
            pin.DispatchResolved(command, request, raw, inline); // a fresh pin has nothing to wait for
            pin.MaybeRelease();
        }
        return true;
    }

    /// <summary>Every request of a pinned client.</summary>
    public PinnedResult Dispatch(Request request, ReadOnlySpan<byte> raw, bool inline)
    {
        lock (_gate)
        {
            if (_link.Released) return PinnedResult.Shared;
            PinnedResult result;
            if (_sub.Active) result = DispatchStreaming(request, raw, inline);
            else if (!CommandDispatcher.TryResolve(_session, request, out var command))
            {
                if (_tx.InMulti) _tx.Aborted = true; // Redis flags the transaction: EXEC answers EXECABORT
                result = PinnedResult.Done;
            }
            else result = DispatchResolved(command, request, raw, inline);
            if (result == PinnedResult.Done) MaybeRelease();
            return result;
        }
    }

    /// <summary>
    /// Sends what this read's requests queued on the dedicated connection, in one write (called by the client's read
    /// loop once per read, like the shared connections' flush).
    /// </summary>
    public void FlushSends()
    {
        PinnedConnection? conn;
        lock (_gate) conn = _link.Connection;
        conn?.Flush();
    }

    /// <summary>The client disconnected (any thread).</summary>
    public void OnClientClosed()
    {
        lock (_gate) Release(clean: false);
    }

    // ---------------------------------------------------------------- release

    /// <summary>Ends the pin when nothing holds it: no transaction, WATCH, subscription or reply outstanding.</summary>
    private void MaybeRelease()
    {
        if (_link.Released || _link.InFlight > 0 || _tx.HoldsPin || _sub.Active) return;
        Release(clean: true);
    }

    /// <summary>
    /// Ends the pin and gives the connection back (<see cref="DedicatedLink.GiveBack"/>): as it is when
    /// <paramref name="clean"/> and no state is left on it, else cleaned of what is (or closed).
    /// </summary>
    private void Release(bool clean)
    {
        if (!_link.TryMarkReleased()) return;
        if (ReferenceEquals(_session.Pin, this)) _session.Pin = null;
        _sub.Close();
        _tx.DropHeld();
        _replay.Dispose();
        bool asIs = clean && !_tx.InMulti && !_tx.Watching && !_sub.Active;
        _link.GiveBack(asIs, _tx.InMulti, _sub.Active);
    }

    // ---------------------------------------------------------------- replies Rampart writes itself

    private PinnedResult AbortWith(string error)
    {
        _tx.Aborted = true;
        _session.ReplyError(error);
        return PinnedResult.Done;
    }

    private PinnedResult Ok()
    {
        ReplyOk(_session);
        return PinnedResult.Done;
    }

    private static void ReplyOk(ClientSession session)
    {
        var ok = session.BeginLocal();
        RespWriter.SimpleString(ok.Payload, "OK"u8);
        session.CompleteLocal(ok);
    }

    private PinnedResult Defer()
    {
        _session.DeferUntilDrained();
        return PinnedResult.Deferred;
    }

    internal static byte[] RespCommand(params string[] args)
    {
        using var output = new ByteBuffer(64);
        RespCommands.Write(output, args);
        return output.Span.ToArray();
    }
}
