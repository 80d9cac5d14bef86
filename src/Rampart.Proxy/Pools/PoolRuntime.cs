using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Clients;

namespace Rampart.Proxy.Pools;

/// <summary>
/// A running pool: its config, its servers with their shared connections, the key router, and its client
/// sessions. The routing state is an immutable snapshot read without locks on the request path; a reload swaps the
/// config and the snapshot (<see cref="Apply"/>), keeping the servers that stay with their connections.
/// </summary>
internal sealed partial class PoolRuntime : IDisposable
{
    /// <summary>A removed server keeps its connections this long at least, for requests routed by the previous snapshot.</summary>
    private const long RetireGraceMs = 1000;
    /// <summary>Longest a removed server (or a removed pool's clients) may take to finish what is in flight (tests shorten it).</summary>
    internal long RetireLimitMs { get; set; } = 30_000;

    private readonly ILogger _logger;
    private readonly ILoggerFactory _loggers;
    /// <summary>The event loops of this pool's client and server connections (shared by every pool).</summary>
    public Transport.EventLoopGroup Loops { get; }
    private readonly ConnectionBudget _budget;
    private readonly RejectionLog _rejections;
    private readonly object _rebuild = new();
    private readonly ConcurrentDictionary<long, ClientSession> _sessions = new();
    // Servers a reload removed, closed once their in-flight requests are answered (guarded by _rebuild).
    private readonly List<(ServerEndpoint Server, long GraceUntil, long Deadline, string Why)> _retiring = [];
    private volatile PoolConfig _config;
    private volatile Commands.CommandPolicy _commands;
    private volatile PoolRouting _routing;
    private volatile PoolListener? _listener;
    // The pool's topology source (a Sentinel monitor, a cluster's slot map), or null for servers at fixed addresses.
    private Topology.ITopologySource? _topology;
    private volatile bool _draining;
    private long _drainDeadline;
    private long _totalConnections;
    private long _clientErrors;
    private long _rejected;
    private long _denied;
    private long _clientEofs;
    private long _forwardErrors;
    private long _fragments;
    private long _serverEjects;

    public PoolRuntime(PoolConfig config, Transport.EventLoopGroup loops, ILoggerFactory loggers, TimeProvider time, ConnectionBudget? budget = null,
        Observability.TopologyEventLog? events = null, Observability.RequestSampler? sampler = null, bool recordMetrics = true,
        AuthThrottle? authThrottle = null)
    {
        Time = time;
        _config = config;
        _limits = LimitsFor(config);
        AuthThrottle = authThrottle ?? new AuthThrottle(time);
        _commands = PolicyFor(config);
        Loops = loops;
        _loggers = loggers;
        _budget = budget ?? new ConnectionBudget();
        _sampler = sampler;
        _recordMetrics = recordMetrics;
        Events = events ?? new Observability.TopologyEventLog();
        var logger = loggers.CreateLogger("Rampart.Backends");
        _logger = logger;
        _rejections = new RejectionLog(loggers.CreateLogger("Rampart.Clients"), time);
        var servers = config.Servers.Select(NewServer).ToArray();
        _routing = config.Cluster is null ? new PoolRouting(config, servers) : FirstClusterRouting(servers);
        if (config.Sentinel is not null) _topology = NewMonitor(config, servers);
        else if (config.Cluster is not null) _topology = NewClusterTopology(config);
    }

    private readonly Observability.RequestSampler? _sampler;
    private readonly bool _recordMetrics;

    /// <summary>The proxy's clock, shared by this pool's servers, clients and Sentinel monitor.</summary>
    public TimeProvider Time { get; }

    /// <summary>True when requests need a start time: metrics are recorded, or requests are being sampled to the log.</summary>
    public bool TimesRequests => _recordMetrics || (_sampler is not null && _sampler.Every != 0);

    /// <summary>Where this pool's topology events (ejections, masters confirmed or lost) are recorded.</summary>
    public Observability.TopologyEventLog Events { get; }

    private ServerEndpoint NewServer(ServerConfig server) =>
        new(_config, server, Loops, _logger, Time, OnServerEjected, _recordMetrics) { RequestSampler = _sampler };

    private Topology.SentinelMonitor NewMonitor(PoolConfig config, ServerEndpoint[] servers) =>
        new(config, servers, _loggers.CreateLogger("Rampart.Sentinel"), Events, Time);

    /// <summary>Starts following the Sentinels (Sentinel pools) or the cluster's slot map (cluster pools).</summary>
    public void StartTopology()
    {
        lock (_rebuild)
        {
            _topology?.Start();
            RestartReplicaChecks(_config);
        }
    }

    public async ValueTask StopTopologyAsync()
    {
        Topology.ITopologySource? monitor;
        lock (_rebuild)
        {
            monitor = _topology;
            _topology = null;
        }
        if (monitor is not null) await monitor.DisposeAsync();
        await StopReplicaChecksAsync();
    }

    /// <summary>The listener accepting this pool's clients now (a reload may replace it when <c>listen</c> changes).</summary>
    public PoolListener? Listener
    {
        get => _listener;
        set => _listener = value;
    }

    private void OnServerEjected(ServerEndpoint server)
    {
        CountServerEject();
        server.Stats.MarkEjected();
        LogEjected(Config.Name, server.Label, Config.ServerFailureLimit, Config.ServerRetryTimeoutMs);
        Events.Add(Config.Name, "ejected", server.Label,
            $"ejected after {Config.ServerFailureLimit} consecutive failures; its keys go to the other servers for {Config.ServerRetryTimeoutMs} ms");
        RefreshLiveServers();
    }

    /// <summary>
    /// Swaps in a new routing snapshot when the set of live servers changed: an ejection, or an ejected server whose
    /// server_retry_timeout has passed (it is tried again with real traffic, as twemproxy does). Called on every
    /// ejection and by the periodic maintenance sweep; never on the request path.
    /// </summary>
    public void RefreshLiveServers()
    {
        lock (_rebuild)
        {
            var config = _config;
            if (!config.AutoEjectHosts) return;
            var current = _routing;
            var servers = (ServerEndpoint[])current.Servers;
            var live = Array.ConvertAll(servers, s => !s.IsEjected);
            if (live.SequenceEqual(current.Live)) return;
            for (int i = 0; i < servers.Length; i++)
                if (live[i] && !current.Live[i])
                {
                    LogReadmitted(config.Name, servers[i].Label);
                    Events.Add(config.Name, "readmitted", servers[i].Label, "back in the distribution (retrying after ejection)");
                }
            _routing = new PoolRouting(config, servers, live);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: server {Endpoint} ejected after {Failures} consecutive failures; its keys go to the other servers for {RetryMs} ms")]
    private partial void LogEjected(string pool, string endpoint, int failures, int retryMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: server {Endpoint} back in the distribution (retrying after ejection)")]
    private partial void LogReadmitted(string pool, string endpoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: removed server {Endpoint} closed ({Outcome})")]
    private partial void LogRetired(string pool, string endpoint, string outcome);

    public PoolConfig Config => _config;

    private volatile Security.PoolAcl? _acl;

    /// <summary>The ACL users this pool admits, or null when no ACL is configured (then only redis_auth applies, as before).</summary>
    public Security.PoolAcl? Acl => _acl;

    /// <summary>Builds this pool's users from the process's table and the pool's own redis_auth and users list; swapped in one write.</summary>
    public void UseAcl(Security.AclTable? table) =>
        _acl = table is null ? null : Security.PoolAcl.For(table, _config.RedisAuth, _config.Users);

    /// <summary>The pool's command rules, compiled (what is forwarded, answered, refused, and with which error).</summary>
    public Commands.CommandPolicy Commands => _commands;

    private static Commands.CommandPolicy PolicyFor(PoolConfig config) => Rampart.Proxy.Commands.CommandPolicy.For(config);
    public PoolRouting Routing => _routing;
    /// <summary>The redis_version a server of this pool reported when Rampart connected (for HELLO), if known.</summary>
    public string? ServerVersion => _routing.Servers.Select(s => s.ServerVersion).FirstOrDefault(v => v is not null);
    public int CurrentConnections => _sessions.Count;
    public long TotalConnections => Interlocked.Read(ref _totalConnections);
    public long ClientErrors => Interlocked.Read(ref _clientErrors);
    public IEnumerable<ClientSession> Sessions => _sessions.Values;

    /// <summary>The pool's client with this id (CLIENT UNBLOCK), or null.</summary>
    public ClientSession? FindSession(long id) => _sessions.TryGetValue(id, out var session) ? session : null;

    /// <summary>
    /// Null when a new client may connect; otherwise the limit it hit: the process's <c>max_connections</c> or the
    /// pool's <c>client_connections</c>.
    /// </summary>
    public string? TryAdmit(SourceAddress? source)
    {
        var config = _config;
        if (config.ClientConnections > 0 && _sessions.Count >= config.ClientConnections)
            return $"client_connections {config.ClientConnections} reached";
        if (source is { } address && !_perAddress.TryTake(address, config.MaxConnectionsPerIp))
        {
            _limitCounters.PerIpRejected();
            return $"max_connections_per_ip {config.MaxConnectionsPerIp} reached for {address}";
        }
        if (!_budget.TryTake())
        {
            if (source is { } taken) _perAddress.Release(taken);
            return $"max_connections {_budget.Max} reached";
        }
        return null;
    }

    public void OnSessionStarted(ClientSession session)
    {
        _sessions[session.Id] = session;
        Interlocked.Increment(ref _totalConnections);
        if (_draining) session.CloseAfterReplies(); // accepted just as the pool was removed
    }

    public void OnSessionClosed(ClientSession session)
    {
        if (!_sessions.TryRemove(session.Id, out _)) return;
        _budget.Release();
        if (session.Source is { } source) _perAddress.Release(source);
    }

    public void CountClientError() => Interlocked.Increment(ref _clientErrors);

    /// <summary>Clients that closed their connection (twemproxy's <c>client_eof</c>).</summary>
    public long ClientEofs => Interlocked.Read(ref _clientEofs);
    public void CountClientEof() => Interlocked.Increment(ref _clientEofs);

    /// <summary>
    /// Requests that could not be forwarded, twemproxy's <c>forward_error</c>: the pool's own (no live server) plus
    /// every server's (unreachable, in backoff).
    /// </summary>
    public long ForwardErrors
    {
        get
        {
            long total = Interlocked.Read(ref _forwardErrors);
            foreach (var server in _routing.Servers) total += server.Stats.ForwardErrors;
            return total;
        }
    }
    public void CountForwardError() => Interlocked.Increment(ref _forwardErrors);

    /// <summary>Sub-requests created by splitting multi-key commands (twemproxy's <c>fragments</c>).</summary>
    public long Fragments => Interlocked.Read(ref _fragments);
    public void CountFragments(int count) => Interlocked.Add(ref _fragments, count);

    /// <summary>Times a server of this pool was ejected (twemproxy's <c>server_ejects</c>).</summary>
    public long ServerEjects => Interlocked.Read(ref _serverEjects);
    public void CountServerEject() => Interlocked.Increment(ref _serverEjects);

    /// <summary>Connections refused because <c>client_connections</c>, <c>max_connections_per_ip</c> or <c>max_connections</c> was reached.</summary>
    public long RejectedConnections => Interlocked.Read(ref _rejected);
    public void CountRejected(EndPoint? remote, string reason)
    {
        Interlocked.Increment(ref _rejected);
        _rejections.Rejected(Config.Name, remote?.ToString() ?? "unix", reason);
    }

    /// <summary>Connections closed at accept because the client's address is not in the pool's <c>allow</c> list.</summary>
    public long DeniedConnections => Interlocked.Read(ref _denied);
    public void CountDenied(EndPoint? remote)
    {
        Interlocked.Increment(ref _denied);
        _rejections.Rejected(Config.Name, remote?.ToString() ?? "?", "address not in the pool's allow list");
    }

    public void Preconnect()
    {
        foreach (var server in _routing.Servers) server.Preconnect();
    }

    /// <summary>The maintenance sweep: request timeouts, failover holds, and closing removed servers once they are idle.</summary>
    public void CheckTimeouts(long now)
    {
        foreach (var server in _routing.Servers)
        {
            server.ExpireHold(now);
            server.CheckTimeouts(now);
            server.RetryIfDown(now);
            server.Pinned.KeepWarm(now); // pinned_min_idle: opened here, never on a client's request
        }
        CheckReplicaTimeouts(now);
        lock (_rebuild)
        {
            for (int i = _retiring.Count - 1; i >= 0; i--)
            {
                var (server, graceUntil, deadline, why) = _retiring[i];
                server.ExpireHold(now);
                server.CheckTimeouts(now);
                bool idle = server.IsIdle;
                if ((now < graceUntil || !idle) && now < deadline) continue;
                _retiring.RemoveAt(i);
                server.Retire($"server {server.Label} {why}");
                LogRetired(Config.Name, server.Label, idle ? "every in-flight request answered" : $"requests still in flight after {RetireLimitMs} ms failed");
            }
        }
    }

    /// <summary>
    /// A reload removed this pool (its listener is already closed): each client gets the replies of what it already
    /// sent, then its connection closes; idle clients close now.
    /// </summary>
    public void BeginDrain()
    {
        _drainDeadline = Time.NowMs() + RetireLimitMs;
        _draining = true;
        foreach (var session in _sessions.Values) session.CloseAfterReplies();
    }

    /// <summary>True once a removed pool has no client left (or its drain time ran out, which closes the rest).</summary>
    public bool TryFinishDrain(long now)
    {
        if (!_sessions.IsEmpty && now < _drainDeadline) return false;
        CloseAllSessions();
        return true;
    }

    /// <summary>True when no session has a request still waiting for its reply.</summary>
    public bool IsIdle => _sessions.Values.All(s => !s.HasPendingReplies);

    public void CloseAllSessions()
    {
        foreach (var session in _sessions.Values) session.Close();
    }

    public void Dispose()
    {
        foreach (var server in _routing.Servers) server.Dispose();
        lock (_rebuild)
        {
            foreach (var (server, _, _, _) in _retiring) server.Dispose();
            _retiring.Clear();
        }
    }
}
