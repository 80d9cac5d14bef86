using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Backends;

/// <summary>
/// One server of a pool: its address, its <c>server_connections</c> shared connections per event loop, its counters,
/// and whether it is reachable. After a failed connect the server is unavailable for a backoff that doubles up to a
/// ceiling, and requests for it fail at once instead of waiting.
/// Shared connections come in two lanes: RESP2 (every client that did not say HELLO 3) and RESP3 (clients that did),
/// since replies pass through verbatim and must already have the types the client asked for. The RESP3 lane is made
/// the first time a RESP3 client needs this server; everything else (backoff, failover, timeouts, reload, counters)
/// treats both lanes alike. Its time rules (<see cref="ReconnectBackoff"/>, <see cref="EjectionState"/>,
/// <see cref="FailoverHold"/>, request timeouts) read the proxy's one injected <see cref="Time"/>.
/// </summary>
internal sealed partial class ServerEndpoint : IDisposable
{
    private const int DefaultConnectTimeoutMs = 5_000;

    private readonly ServerConnection[] _connections;
    // The RESP3 lane, made on first use (under _laneGate, which also orders it against Retire/Dispose).
    private volatile ServerConnection[]? _resp3Connections;
    private readonly object _laneGate = new();
    // server_connections, fixed for this endpoint (a reload that changes it makes a new one): each lane has this many per loop.
    private readonly int _connectionsPerLoop;
    private string? _closedReason;
    /// <summary>The event loops: each has its own shared connection(s) here; dedicated ones are spread over them.</summary>
    internal Transport.EventLoopGroup Loops { get; }
    private readonly ILogger _logger;
    // The shard's master as its topology source last published it (a plain server: its own address), swapped whole.
    // Read with Volatile.Read, changed with Interlocked.CompareExchange (a source and the failover events both change it).
    private Topology.MasterState _master;
    private readonly ReconnectBackoff _backoff;
    private readonly EjectionState _ejection;
    private readonly Action<ServerEndpoint>? _onEjectionChanged;

    private volatile PoolConfig _pool;
    private volatile ServerConfig _config;

    public ServerEndpoint(PoolConfig pool, ServerConfig config, Transport.EventLoopGroup loops, ILogger logger, TimeProvider time,
        Action<ServerEndpoint>? onEjectionChanged = null, bool recordMetrics = true)
    {
        Time = time;
        _backoff = new ReconnectBackoff(time);
        _ejection = new EjectionState(time);
        Commands = recordMetrics ? new Observability.CommandMetrics() : null;
        _onEjectionChanged = onEjectionChanged;
        _pool = pool;
        _config = config;
        if (pool.Sentinel is null)
        {
            Endpoint = config.Endpoint;
            _fixedLabel = config.Label;
            _master = Topology.MasterState.Fixed(Resolve(config));
        }
        else
        {
            // A Sentinel master name: no address until a quorum of Sentinels and the node itself confirm one.
            Endpoint = config.Name ?? config.Host;
            _master = Topology.MasterState.None($"ERR rampart: no confirmed master for '{Endpoint}' yet (asking the sentinels)", vote: null);
        }
        Loops = loops;
        _connectionsPerLoop = Math.Max(1, pool.ServerConnections);
        _logger = logger;
        _connections = NewLane(resp3: false);
        Pinned = new PinnedPool(this, pool.PinnedConnections);
    }

    /// <summary>The proxy's clock: every deadline of this server and its connections is read on it.</summary>
    public TimeProvider Time { get; }

    /// <summary>Dedicated connections for clients with connection state (transactions, pub/sub, blocking calls).</summary>
    public PinnedPool Pinned { get; }

    /// <summary>The pool's settings; a reload that keeps this server swaps in the new ones (timeout, ejection, ...).</summary>
    public PoolConfig Pool => _pool;
    /// <summary>This server's line; a reload may change its weight (the routing snapshot, not this, places keys).</summary>
    public ServerConfig Config => _config;

    /// <summary>
    /// A reload kept this server (same address and name, same connection settings): later requests, timeouts and
    /// ejection use the new pool settings; its connections and their in-flight requests carry on untouched.
    /// </summary>
    public void Update(PoolConfig pool, ServerConfig config)
    {
        _pool = pool;
        _config = config;
        _resp3Refused = null; // asked again at the next RESP3 connect
    }

    private volatile string? _resp3Refused;

    /// <summary>
    /// Set when this server refused HELLO 3 in a handshake: the error RESP3 requests get (without any backoff for the
    /// RESP2 lane), and why HELLO 3 is answered NOPROTO. Cleared by a reload or a new confirmed master.
    /// </summary>
    public string? Resp3Refused => _resp3Refused;

    /// <summary>A handshake (shared or dedicated connection) got HELLO 3 refused; said once in the log, not per connect.</summary>
    public void OnResp3Refused(string reason)
    {
        string error = $"ERR rampart: server {Label} does not speak RESP3 ({reason}); use RESP2 (HELLO 2)";
        if (Interlocked.Exchange(ref _resp3Refused, error) is null) LogResp3Refused(Label, reason);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Server {Endpoint} does not speak RESP3 ({Reason}); clients that ask for it get NOPROTO")]
    private partial void LogResp3Refused(string endpoint, string reason);

    /// <summary>True when no request waits in this server's queues or on its connections (a removed server may close).</summary>
    public bool IsIdle => AllConnections.All(c => c.IsIdle);
    public string Endpoint { get; }

    /// <summary>
    /// How logs, errors and events name this server, as the dashboard does: "name (address)" for a named server line,
    /// the address for an unnamed one, and for a Sentinel shard its master name with the confirmed master's address
    /// (built again only when that address changes).
    /// </summary>
    public string Label
    {
        get
        {
            if (_fixedLabel is not null) return _fixedLabel;
            var address = Address;
            var cached = Volatile.Read(ref _sentinelLabel);
            if (cached is not null && Equals(cached.Address, address)) return cached.Text;
            var label = new SentinelLabel(address, $"{Endpoint} ({address?.ToString() ?? "no confirmed master"})");
            Volatile.Write(ref _sentinelLabel, label);
            return label.Text;
        }
    }

    private readonly string? _fixedLabel;
    private SentinelLabel? _sentinelLabel;
    private sealed record SentinelLabel(EndPoint? Address, string Text);
    /// <summary>Where to connect: fixed for a plain server; the confirmed master for a Sentinel name, or null.</summary>
    public EndPoint? Address => Master.Address;

    /// <summary>The shard's master as last published (address or reason, vote, replicas): one consistent snapshot.</summary>
    public Topology.MasterState Master => Volatile.Read(ref _master);
    public TimeSpan ConnectTimeout => TimeSpan.FromMilliseconds(Pool.TimeoutMs ?? DefaultConnectTimeoutMs);
    public ServerStats Stats { get; } = new();
    /// <summary>Per-command requests, errors and latency of the requests sent to this server; null when not recorded.</summary>
    public Observability.CommandMetrics? Commands { get; }

    /// <summary>Counts a request that fails without a reply from the server (unreachable, lost connection, timeout).</summary>
    public void RecordFailure(ProxyRequest request)
    {
        Stats.AddFailedRequest();
        var sampler = RequestSampler;
        if (Commands is null && (sampler is null || sampler.Every == 0)) return;
        // Raw: latency is measured on the same raw clock as the request's start, read once per client socket read.
        long elapsed = Stopwatch.GetTimestamp() - request.StartTimestamp;
        Commands?.Record(request.CommandId, elapsed, error: true);
        sampler?.Observe(Pool.Name, Label, request.CommandId, elapsed, error: true);
    }
    /// <summary>redis_version from INFO at the last connect.</summary>
    public string? ServerVersion { get; set; }
    /// <summary>A master's replicas that reads may go to (pools with <c>read_from</c>), published by the replica tracker.</summary>
    public ReplicaReads ReadReplicas
    {
        get => Volatile.Read(ref _readReplicas);
        set => Volatile.Write(ref _readReplicas, value);
    }
    private ReplicaReads _readReplicas = ReplicaReads.NotChecked;

    // Until when this master's batches end with a short WAIT (WriteAcks.ShortRecheckMs): its replicas were short. 0: not short.
    private long _replicasShortUntilMs;

    /// <summary>
    /// The WAIT that ends a batch of durable writes sent at <paramref name="nowMs"/>: the full one while the replicas
    /// keep up; while they are short, the short one, except for one batch per <see cref="WriteAcks.ShortRecheckMs"/>
    /// that tries the full one again. That batch claims the recheck by moving the short state's end forward, so the
    /// batches sent while its WAIT is out do not each send a full WAIT too: Redis runs a connection's WAITs one after
    /// another, and a few dozen full WAITs that each wait the whole <c>ack_timeout</c> held the writers' lane past the
    /// pool's <c>timeout</c> (the <c>ERR timeout</c> seen with <c>min_replicas_ack: 2</c> after a failover).
    /// </summary>
    public WriteAcks AcksForBatch(long nowMs)
    {
        long until = Volatile.Read(ref _replicasShortUntilMs);
        bool full = until == 0
            || nowMs >= until && Interlocked.CompareExchange(ref _replicasShortUntilMs, nowMs + WriteAcks.ShortRecheckMs, until) == until;
        var pool = Pool;
        return WriteAcks.For(pool.MinReplicasAck, pool.AckTimeoutMs, full);
    }

    /// <summary>
    /// A WAIT sent after durable writes answered with <paramref name="reply"/>: true when enough replicas have them.
    /// Enough replicas end the short state; a full WAIT that came back short starts it (counted as a shortfall).
    /// </summary>
    public bool TakeAckReply(WriteAcks acks, ReadOnlySpan<byte> reply, out long acknowledged)
    {
        acknowledged = reply[0] == (byte)':' && Rampart.Protocol.RespNumber.TryParse(reply[1..^2], out long n) ? n : 0;
        bool enough = acknowledged >= acks.Replicas;
        if (enough) Volatile.Write(ref _replicasShortUntilMs, 0);
        else
        {
            if (acks.IsFull) Volatile.Write(ref _replicasShortUntilMs, Time.NowMs() + WriteAcks.ShortRecheckMs);
            Stats.AddAckShortfall();
        }
        return enough;
    }

    /// <summary>A Redis Cluster replica that serves reads: its connections say READONLY in their handshake.</summary>
    public bool IsClusterReplica { get; init; }

    /// <summary>Takes over requests this server could not answer instead of failing them (a replica's reads), or null.</summary>
    public IFailureFallback? Fallback { get; set; }

    /// <summary>
    /// Closes every shared connection now (a replica that stopped answering): what is in flight fails, or goes to
    /// <see cref="Fallback"/>. Traffic opens new connections.
    /// </summary>
    public void DropConnections(string reason)
    {
        foreach (var connection in AllConnections) connection.Link?.Kill(reason);
    }

    /// <summary>Every shared connection of both lanes (RESP2, then RESP3 once made).</summary>
    public IEnumerable<ServerConnection> AllConnections
    {
        get
        {
            IEnumerable<ServerConnection> all = _connections;
            if (_resp3Connections is { } resp3) all = all.Concat(resp3);
            if (Volatile.Read(ref _controlConnections) is { } control) all = all.Concat(control);
            if (Volatile.Read(ref _detourConnections) is { } detour) all = all.Concat(detour);
            if (Volatile.Read(ref _durableConnections) is { } durable) all = all.Concat(durable);
            return all;
        }
    }

    private ServerConnection[] Resp3Lane()
    {
        lock (_laneGate)
        {
            if (_resp3Connections is { } made) return made;
            var lane = NewLane(resp3: true);
            // A server already retired or stopped: its new lane is closed too, so what is queued there fails at once.
            if (_closedReason is { } reason) foreach (var connection in lane) connection.Dispose(reason, $"ERR rampart: {reason}");
            _resp3Connections = lane;
            return lane;
        }
    }

    /// <summary><c>server_connections</c> connections for each event loop, the loop's ones side by side.</summary>
    private ServerConnection[] NewLane(bool resp3)
    {
        var lane = new ServerConnection[_connectionsPerLoop * Loops.Count];
        for (int i = 0; i < lane.Length; i++) lane[i] = new ServerConnection(this, Loops[i / _connectionsPerLoop], _logger, resp3);
        return lane;
    }

    /// <summary>
    /// An error reply while requests cannot go to this server: no confirmed master (Sentinel pools, fail closed), or
    /// backoff after a failed connect. Null when it may be tried.
    /// </summary>
    public string? UnavailableReason => Master.NoMasterReason ?? (_backoff.IsWaiting ? _backoff.Reason : null);

    /// <summary>
    /// A topology source publishes what it now knows of this shard's master, in one swap. When the master moves,
    /// connections to the old one are closed: requests in flight there fail with an error (never resent), requests
    /// not yet written go to the new master, and a failover hold ends. When no master can be confirmed, every
    /// request fails with the reason (fail closed). Returns true when the master or the reason changed (a new vote
    /// for the same master only replaces the snapshot).
    /// </summary>
    public bool Publish(Topology.MasterState next)
    {
        // A failover hold is not the source's to drop in passing: it is ended below, with what waited released.
        var previous = Swap(current => next with { Hold = current.Hold });
        if (next.HasMaster)
        {
            if (previous.HasMaster && previous.Address!.Equals(next.Address)) return false;
            _backoff.Reset();
            _resp3Refused = null;
            if (previous.Address is not null && !previous.Address.Equals(next.Address))
            {
                NoteUnpause(); // a pause sent to the old master does not hold the new one
                Recycle($"master moved to {next.Address}");
            }
            EndHold(); // what waited for the failover goes to the new master
            return true;
        }
        if (previous.HasMaster) Recycle("master no longer confirmed");
        return previous.HasMaster || previous.NoMasterReason != next.NoMasterReason;
    }

    /// <summary>
    /// True while a Sentinel failover of this master is under way (from +try-failover until the new master is
    /// confirmed, the failover is aborted, or <see cref="HoldLimitMs"/> passes): requests wait instead of reaching a
    /// master that is being replaced, so no acknowledged write is left on the old one.
    /// </summary>
    public bool IsHolding
    {
        get
        {
            var hold = Master.Hold;
            return hold.IsSet && hold.IsHoldingAt(Time.NowMs()); // no clock read while no hold is set
        }
    }

    /// <summary>Longest a failover may hold traffic; what waited longer gets -TRYAGAIN.</summary>
    public const int HoldLimitMs = FailoverHold.LimitMs;

    public string HoldOverflowReason => $"TRYAGAIN rampart: failover of '{Endpoint}' in progress; too many requests waiting";
    private string HoldExpiredReason => $"TRYAGAIN rampart: failover of '{Endpoint}' did not complete within {HoldLimitMs} ms";

    /// <summary>Starts (or keeps) holding traffic for a failover. Returns true when it was not holding before.</summary>
    public bool BeginHold()
    {
        long now = Time.NowMs();
        bool started = false;
        Swap(current =>
        {
            var hold = current.Hold.BeginAt(now);
            started = hold is not null;
            return hold is { } begun ? current with { Hold = begun } : current;
        });
        return started;
    }

    /// <summary>Ends the hold: held requests go to the now confirmed master (or fail, when the hold ran out).</summary>
    public bool EndHold(bool expired = false)
    {
        var previous = Swap(current => current.Hold.IsSet ? current with { Hold = FailoverHold.None } : current);
        if (!previous.Hold.IsSet) return false;
        foreach (var connection in AllConnections) connection.OnHoldEnded(expired ? HoldExpiredReason : null);
        return true;
    }

    /// <summary>Called by the periodic sweep: a hold past its limit fails what waited and lets traffic flow again.</summary>
    public bool ExpireHold(long now) => Master.Hold.HasExpiredAt(now) && EndHold(expired: true);

    /// <summary>
    /// Replaces the master state with <paramref name="change"/> of the current one, atomically (a Sentinel check and a
    /// failover event may race); returns the state it replaced.
    /// </summary>
    private Topology.MasterState Swap(Func<Topology.MasterState, Topology.MasterState> change)
    {
        while (true)
        {
            var current = Volatile.Read(ref _master);
            var next = change(current);
            if (ReferenceEquals(next, current) || ReferenceEquals(Interlocked.CompareExchange(ref _master, next, current), current))
                return current;
        }
    }

    /// <summary>
    /// True from a failed connect until the next successful one, or while a Sentinel shard has no confirmed master:
    /// the admin API's "down" (a server in backoff is retried by the maintenance sweep, so this clears by itself).
    /// </summary>
    public bool IsDown => Master.NoMasterReason is not null || _backoff.Failures > 0;

    /// <summary>Why the server is down (the error its requests get), or null.</summary>
    public string? DownReason => Master.NoMasterReason ?? (_backoff.Failures > 0 ? _backoff.Reason : null);

    /// <summary>
    /// Called by the maintenance sweep: a plain server that is down is reconnected once its backoff has passed, even
    /// without traffic, so its state (and /readyz) recovers when the server does.
    /// </summary>
    public void RetryIfDown(long now)
    {
        if (Pool.Sentinel is null && _backoff.IsDueForRetry(now)) Preconnect();
    }

    /// <summary>The last Sentinel vote for this shard (Sentinel pools), for the admin API.</summary>
    public Topology.SentinelView? SentinelView => Master.Vote;

    /// <summary>Per-request debug logging (sampled); set by the pool.</summary>
    public Observability.RequestSampler? RequestSampler { get; set; }

    /// <summary>The confirmed master's replicas (Sentinel pools), refreshed by every check.</summary>
    public Topology.ReplicaSet Replicas => Master.Replicas;

    /// <summary>Set by a Sentinel monitor: called when a reply suggests the master changed (-READONLY, -LOADING).</summary>
    public Action? TopologySuspected { get; set; }

    public void ReportTopologySuspect() => TopologySuspected?.Invoke();

    /// <summary>
    /// Cluster pools: follows a reply that sends the request elsewhere (MOVED, ASK, TRYAGAIN), so the client never sees
    /// it. Null in other pools, where every reply goes to its client as it is.
    /// </summary>
    public IRedirectFollower? Redirects { get; set; }

    /// <summary>Called when a connection to this server is lost (not closed by the proxy): a cluster pool checks its slot map.</summary>
    public Action? ConnectionLost { get; set; }

    private void Recycle(string reason)
    {
        foreach (var connection in AllConnections) connection.Link?.Kill(reason);
        // Dedicated connections too: transactions and blocked calls there fail, subscribers move to the new master.
        Pinned.KillAll(reason);
    }

    public void OnConnected()
    {
        Stats.ConnectionOpened();
        _backoff.OnConnected();
        _ejection.OnConnected();
    }

    /// <summary>A live connection died: a failure toward ejection unless Rampart itself closed it.</summary>
    public void OnDisconnected(bool failure)
    {
        Stats.ConnectionClosed();
        if (failure) CountFailure();
    }

    /// <summary>True while auto_eject_hosts keeps this server out of the key distribution.</summary>
    public bool IsEjected => _ejection.IsEjected;

    /// <summary>A request failed at once because the server is in reconnect backoff: it counts as a failure too.</summary>
    public void OnRequestRefused() => CountFailure();

    private void CountFailure()
    {
        // twemproxy's server_failure (EjectionState): only with auto_eject_hosts, on the pool's current settings.
        var pool = Pool;
        if (pool.AutoEjectHosts && _ejection.CountFailure(pool.ServerFailureLimit, pool.ServerRetryTimeoutMs))
            _onEjectionChanged?.Invoke(this);
    }

    /// <summary>Counts a failed connect and sets the backoff; returns how many connects in a row have failed.</summary>
    public int OnConnectFailed(string reason)
    {
        Stats.AddError();
        CountFailure();
        return _backoff.OnFailed($"ERR rampart: server {Label} unavailable: {reason}");
    }

    /// <summary>Opens every RESP2 connection now (twemproxy's <c>preconnect</c>; the RESP3 lane connects on use).</summary>
    public void Preconnect()
    {
        foreach (var connection in _connections) connection.Flush();
    }

    public void CheckTimeouts(long now)
    {
        if (Pool.TimeoutMs is not int timeout) return;
        // Every sweep (as often as every 5 ms): the two lanes walked directly, no enumerator allocated.
        foreach (var connection in _connections) connection.CheckTimeout(now, timeout);
        if (_resp3Connections is { } resp3) foreach (var connection in resp3) connection.CheckTimeout(now, timeout);
        if (Volatile.Read(ref _controlConnections) is { } control) foreach (var connection in control) connection.CheckTimeout(now, timeout);
        if (Volatile.Read(ref _detourConnections) is { } detour) foreach (var connection in detour) connection.CheckTimeout(now, timeout);
        if (Volatile.Read(ref _durableConnections) is { } durable) foreach (var connection in durable) connection.CheckTimeout(now, timeout);
    }

    public void Dispose()
    {
        lock (_laneGate) _closedReason ??= "proxy is shutting down";
        foreach (var connection in AllConnections) connection.Dispose();
        Pinned.KillAll("proxy is shutting down", dispose: true);
    }

    /// <summary>A reload removed this server: close every connection; what still waits fails with "-ERR rampart: reason".</summary>
    public void Retire(string reason)
    {
        lock (_laneGate) _closedReason = reason;
        foreach (var connection in AllConnections) connection.Dispose(reason, failWith: $"ERR rampart: {reason}");
        Pinned.KillAll(reason, dispose: true);
    }

    private static EndPoint Resolve(ServerConfig config)
    {
        if (config.Host.StartsWith('/')) return new UnixDomainSocketEndPoint(config.Host);
        if (IPAddress.TryParse(config.Host, out var ip)) return new IPEndPoint(ip, config.Port);
        // Resolved once at start (and again at reload), as twemproxy does; prefer IPv4 like most Redis setups.
        return new IPEndPoint(HostResolver.Resolve(config.Host), config.Port);
    }
}
