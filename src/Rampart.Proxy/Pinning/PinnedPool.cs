using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// The dedicated connections of one server: idle ones kept for reuse, at most <c>pinned_connections</c> open at once
/// (idle, lent or connecting). A connection goes back idle only when its state is known to be clean; one that dies
/// leaves the count. When a Sentinel pool's master moves, every dedicated connection to the old one is closed.
/// Idle connections are kept per protocol: a client that said HELLO 3 gets one whose handshake said HELLO 3 too, so
/// its replies and pub/sub pushes arrive in RESP3; the limit counts both.
/// </summary>
internal sealed class PinnedPool
{
    private readonly object _gate = new();
    private readonly ServerEndpoint _server;
    private readonly List<PinnedConnection> _idle = [];
    private readonly List<PinnedConnection> _idleResp3 = [];
    private readonly HashSet<PinnedConnection> _open = [];
    private volatile bool _disposed;

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
    /// Lends a connection speaking <paramref name="resp3"/>'s protocol to <paramref name="receiver"/>: an idle one to the
    /// current address, else a new one while the limit allows (an idle one of the other protocol is closed to make room).
    /// Null with the client's error reply when none can be had.
    /// </summary>
    public PinnedConnection? TryRent(IPinnedReceiver receiver, bool resp3, out string? error)
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
                    error = $"ERR rampart: no dedicated connection free for server {_server.Endpoint}: all {Limit} (pinned_connections) are in use by transactions, subscribers or blocking calls";
                    return null;
                }
                connection = new PinnedConnection(_server, this, resp3);
                _open.Add(connection);
                Interlocked.Increment(ref _opened);
            }
        }
        stale?.Kill("idle connection to an old address");
        connection.Attach(receiver);
        if (connection.Target is null) connection.Start();
        return connection;
    }

    /// <summary>Back to idle; the caller has made sure its state is clean.</summary>
    public void Return(PinnedConnection connection)
    {
        connection.Detach();
        lock (_gate)
        {
            if (!_disposed && !connection.IsDead && _open.Contains(connection) && Equals(connection.Target, _server.Address))
            {
                (connection.Resp3 ? _idleResp3 : _idle).Add(connection);
                return;
            }
        }
        connection.Kill("not reusable");
    }

    /// <summary>Called once by a connection that died (or never connected): it leaves the count.</summary>
    public void OnDead(PinnedConnection connection)
    {
        lock (_gate)
        {
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
