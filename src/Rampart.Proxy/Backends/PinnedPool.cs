using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Backends;

/// <summary>
/// What a dedicated connection is used for. Each kind keeps its own reserve of <c>pinned_connections</c>
/// (<c>pinned_reserve</c>). Ranked by how long such a use usually holds a connection: a connection's charge only ever
/// moves up this order (see <see cref="PinnedPool.TryCharge"/>).
/// </summary>
internal enum PinnedUse
{
    /// <summary>MULTI ... EXEC sent command by command, WATCH.</summary>
    Transaction,
    /// <summary>BLPOP, XREAD BLOCK, WAIT, ... outside MULTI.</summary>
    BlockingCall,
    /// <summary>SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE.</summary>
    Subscriber,
}

/// <summary>
/// The dedicated connections of one server: idle ones kept for reuse, at most <c>pinned_connections</c> open at once
/// (idle, lent or connecting). A connection goes back idle only when its state is known to be clean; one that dies
/// leaves the count. When a Sentinel pool's master moves, every dedicated connection to the old one is closed.
/// Idle connections are kept per protocol: a client that said HELLO 3 gets one whose handshake said HELLO 3 too, so
/// its replies and pub/sub pushes arrive in RESP3; the limit counts both.
/// <para>
/// Shares: every connection that is not idle (lent, or being cleaned after its client left) is charged to exactly one
/// <see cref="PinnedUse"/>. A kind may take a connection while it holds fewer than its reserve, or while the
/// connections no kind has reserved are not all taken: the sum over kinds of max(held, reserve) never exceeds the
/// limit, so each kind can always reach its reserve however many of another kind are waiting (idle connections are
/// charged to nobody and are reused or closed to make room). Reserves are read from the server's pool config at each
/// decision, so a reload that changes <c>pinned_reserve</c> applies to the next connection taken.
/// </para>
/// </summary>
internal sealed class PinnedPool
{
    private const int Uses = 3;

    private readonly object _gate = new();
    private readonly ServerEndpoint _server;
    private readonly List<PinnedConnection> _idle = [];
    private readonly List<PinnedConnection> _idleResp3 = [];
    private readonly HashSet<PinnedConnection> _open = [];
    // Connections charged to each PinnedUse (lent, or being cleaned), under _gate.
    private readonly int[] _held = new int[Uses];
    private volatile bool _disposed;
    // Warm connections (pinned_min_idle) being opened, under _gate; and the backoff after one failed to open (the
    // deadline in ms on the server's TimeProvider).
    private int _warming;
    private int _warmFailures;
    private long _warmRetryAt;

    /// <summary>True once the server left the pool (reload) or the proxy stops: no dedicated connection is lent again.</summary>
    public bool IsClosed => _disposed;

    public PinnedPool(ServerEndpoint server, int limit)
    {
        _server = server;
        Limit = limit;
    }

    public int Limit { get; }

    /// <summary>How long a server may take to prove a returned connection clean before it is closed instead.</summary>
    public int CleanTimeoutMs { get; set; } = 5_000;

    /// <summary>Dedicated connections open now (idle, lent or connecting).</summary>
    public int Open
    {
        get { lock (_gate) return _open.Count; }
    }

    /// <summary>Idle dedicated connections ready to lend.</summary>
    public int Idle
    {
        get { lock (_gate) return _idle.Count + _idleResp3.Count; }
    }

    /// <summary>Subscribers whose subscriptions were restored on a new connection (failover, lost connection).</summary>
    public long Resubscribes => Interlocked.Read(ref _resubscribes);
    private long _resubscribes;
    public void CountResubscribe() => Interlocked.Increment(ref _resubscribes);

    /// <summary>Dedicated connections opened since start (how often reuse was not possible).</summary>
    public long Opened => Interlocked.Read(ref _opened);
    private long _opened;

    /// <summary>
    /// Lends a connection speaking <paramref name="resp3"/>'s protocol to <paramref name="receiver"/>, charged to
    /// <paramref name="use"/>: an idle one to the current address, else a new one while the limit allows (an idle one of
    /// the other protocol is closed to make room). Null with the client's error reply when none can be had, or when
    /// <paramref name="use"/>'s share is taken.
    /// </summary>
    public PinnedConnection? TryRent(IPinnedReceiver receiver, bool resp3, PinnedUse use, out string? error)
    {
        error = null;
        if (!_server.IsHolding && _server.UnavailableReason is { } down)
        {
            error = down;
            return null;
        }
        if (resp3 && _server.Resp3Refused is { } refused)
        {
            error = refused;
            return null;
        }
        PinnedConnection? stale = null;
        PinnedConnection? connection = null;
        lock (_gate)
        {
            if (_disposed)
            {
                error = "ERR rampart: proxy is shutting down";
                return null;
            }
            if (!HasRoom(use))
            {
                error = ShareTaken(use);
                return null;
            }
            var address = _server.Address;
            var idle = resp3 ? _idleResp3 : _idle;
            // At the limit with none of this protocol idle, one of the other protocol makes room (it is closed).
            if (idle.Count == 0 && _open.Count >= Limit) idle = resp3 ? _idle : _idleResp3;
            while (idle.Count > 0)
            {
                var candidate = idle[^1];
                idle.RemoveAt(idle.Count - 1);
                if (candidate.Resp3 != resp3)
                {
                    stale = candidate;
                    break;
                }
                if (!candidate.IsDead && Equals(candidate.Target, address))
                {
                    connection = candidate;
                    break;
                }
                stale = candidate;
                break;
            }
            if (connection is null)
            {
                if (_open.Count >= Limit && stale is null)
                {
                    error = $"ERR rampart: no dedicated connection free for server {_server.Label}: all {Limit} (pinned_connections) are in use by transactions, subscribers or blocking calls";
                    return null;
                }
                connection = new PinnedConnection(_server, this, resp3);
                _open.Add(connection);
                Interlocked.Increment(ref _opened);
            }
            connection.Use = use;
            _held[(int)use]++;
        }
        stale?.Kill("idle connection to an old address");
        connection.Attach(receiver);
        if (connection.Target is null) connection.Start();
        return connection;
    }

    /// <summary>
    /// The client holding <paramref name="connection"/> starts a use of another kind on it (SUBSCRIBE or a blocking call
    /// after WATCH, ...). The charge moves to <paramref name="use"/> when it ranks higher than the current one and that
    /// kind has room; false, with the client's error, when it has none (the client keeps its connection and state). A
    /// use ranked lower (MULTI behind a blocking call, a transaction of a subscriber) leaves the charge where it is, and
    /// a charge never moves back when a use ends: each connection counts against a kind that admitted it, and a
    /// subscriber's transaction never eats into the transactions' reserve.
    /// </summary>
    public bool TryCharge(PinnedConnection connection, PinnedUse use, out string? error)
    {
        error = null;
        lock (_gate)
        {
            // Not charged: it died and left the count; its owner hears of it.
            if (connection.Use is not { } current || current >= use) return true;
            _held[(int)current]--;
            if (!HasRoom(use))
            {
                _held[(int)current]++;
                error = ShareTaken(use);
                return false;
            }
            _held[(int)use]++;
            connection.Use = use;
            return true;
        }
    }

    /// <summary>How many connections <paramref name="use"/> keeps for itself: <c>pinned_reserve</c>, else a quarter of the limit.</summary>
    private int Reserve(PinnedUse use)
    {
        var reserve = _server.Pool.PinnedReserve;
        int? written = use switch
        {
            PinnedUse.Transaction => reserve.Transactions,
            PinnedUse.BlockingCall => reserve.BlockingCalls,
            _ => reserve.Subscribers,
        };
        return written ?? PinnedReserveConfig.DefaultFor(Limit);
    }

    /// <summary>
    /// Under the lock: <paramref name="use"/> holds fewer than its reserve, or a connection no kind has reserved is free.
    /// </summary>
    private bool HasRoom(PinnedUse use)
    {
        if (_held[(int)use] < Reserve(use)) return true;
        int committed = 0;
        for (int i = 0; i < Uses; i++) committed += Math.Max(_held[i], Reserve((PinnedUse)i));
        return committed < Limit;
    }

    /// <summary>Under the lock: the reply to a client whose kind's share is taken.</summary>
    private string ShareTaken(PinnedUse use)
    {
        var server = _server.Label;
        if (Limit == 0) return $"ERR rampart: no dedicated connection free for {Describe(use, one: true)} on server {server}: pinned_connections is 0";
        int othersHold = 0, othersKeep = 0;
        var others = new List<string>(Uses - 1);
        for (int i = 0; i < Uses; i++)
        {
            if (i == (int)use) continue;
            othersHold += _held[i];
            othersKeep += Math.Max(0, Reserve((PinnedUse)i) - _held[i]);
            others.Add(Describe((PinnedUse)i, one: false));
        }
        string them = string.Join(" and ", others);
        return $"ERR rampart: no dedicated connection free for {Describe(use, one: true)} on server {server}: "
            + $"{Describe(use, one: false)} hold {_held[(int)use]} of its {Limit} (pinned_connections), {them} hold {othersHold}"
            + (othersKeep > 0 ? $", and {othersKeep} more {(othersKeep == 1 ? "is" : "are")} reserved for them (pinned_reserve)" : "");
    }

    private static string Describe(PinnedUse use, bool one) => use switch
    {
        PinnedUse.Transaction => one ? "a transaction" : "transactions",
        PinnedUse.BlockingCall => one ? "a blocking call" : "blocking calls",
        _ => one ? "a subscriber" : "subscribers",
    };

    /// <summary>Under the lock: the connection no longer counts against its kind (idle again, or dead).</summary>
    private void Uncharge(PinnedConnection connection)
    {
        if (connection.Use is not { } use) return;
        _held[(int)use]--;
        connection.Use = null;
    }

    /// <summary>Back to idle; the caller has made sure its state is clean.</summary>
    public void Return(PinnedConnection connection)
    {
        connection.Detach();
        lock (_gate)
        {
            Uncharge(connection);
            if (!_disposed && !connection.IsDead && !connection.NotReusable && _open.Contains(connection) && Equals(connection.Target, _server.Address))
            {
                (connection.Resp3 ? _idleResp3 : _idle).Add(connection);
                return;
            }
        }
        connection.Kill("not reusable");
    }

    /// <summary>
    /// Called by the periodic sweep: opens RESP2 connections in the background until <c>pinned_min_idle</c> (read from
    /// the pool's config each time, so a reload applies) are idle or being opened, within <c>pinned_connections</c>.
    /// Idle connections are charged to no kind and any kind may take one, so warm ones never keep a kind from its
    /// <c>pinned_reserve</c> (at the limit, one of them is closed to make room, as any idle one). Nothing is opened to
    /// a server that is down, in backoff, ejected, without a confirmed master, or in a failover hold; a warm connect
    /// that fails backs off (100 ms doubling to 5 s) rather than retry at every sweep.
    /// </summary>
    public void KeepWarm(long now)
    {
        int want = Math.Min(_server.Pool.PinnedMinIdle, Limit);
        if (want <= 0 || _disposed || now < Volatile.Read(ref _warmRetryAt)) return;
        if (_server.Address is null || _server.IsDown || _server.IsEjected || _server.IsHolding || _server.UnavailableReason is not null) return;
        List<PinnedConnection>? opening = null;
        lock (_gate)
        {
            if (_disposed) return;
            int missing = Math.Min(want - _idle.Count - _warming, Limit - _open.Count);
            for (int i = 0; i < missing; i++)
            {
                var connection = new PinnedConnection(_server, this, resp3: false) { Warming = true };
                _open.Add(connection);
                _warming++;
                (opening ??= []).Add(connection);
            }
        }
        if (opening is null) return;
        foreach (var connection in opening)
        {
            Interlocked.Increment(ref _opened);
            connection.Start();
        }
    }

    /// <summary>A warm connection finished its handshake: it joins the idle ones (unless the master moved meanwhile).</summary>
    public void OnWarmConnected(PinnedConnection connection)
    {
        lock (_gate)
        {
            if (!connection.Warming) return;
            connection.Warming = false;
            _warming--;
            _warmFailures = 0;
            if (!_disposed && !connection.IsDead && _open.Contains(connection) && Equals(connection.Target, _server.Address))
            {
                _idle.Add(connection);
                return;
            }
        }
        connection.Kill("warm connection no longer to the current address");
    }

    /// <summary>Warm connections being opened (once open they count in <see cref="Idle"/>).</summary>
    public int Warming
    {
        get { lock (_gate) return _warming; }
    }

    /// <summary>Connections lent to clients now (or being cleaned after one): neither idle nor being opened warm.</summary>
    public int Lent
    {
        get { lock (_gate) return _open.Count - _idle.Count - _idleResp3.Count - _warming; }
    }

    /// <summary>Called once by a connection that died (or never connected): it leaves the count.</summary>
    public void OnDead(PinnedConnection connection)
    {
        lock (_gate)
        {
            if (connection.Warming)
            {
                // A warm connect failed (or was closed before it was ready): back off before the next one.
                connection.Warming = false;
                _warming--;
                _warmFailures++;
                Volatile.Write(ref _warmRetryAt, _server.Time.NowMs() + Backends.Backoff.Reconnect.DelayMs(_warmFailures));
            }
            Uncharge(connection);
            _open.Remove(connection);
            (connection.Resp3 ? _idleResp3 : _idle).Remove(connection);
        }
    }

    /// <summary>Closes every dedicated connection (the master moved, or the proxy stops); owners hear of it.</summary>
    public void KillAll(string reason, bool dispose = false)
    {
        PinnedConnection[] all;
        lock (_gate)
        {
            if (dispose) _disposed = true;
            all = [.. _open];
        }
        foreach (var connection in all) connection.Kill(reason);
    }
}
