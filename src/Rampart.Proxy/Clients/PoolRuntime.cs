using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Clients;

/// <summary>
/// A running pool: its config, its servers with their shared connections, the key router, and its client
/// sessions. The routing state is an immutable snapshot read without locks on the request path.
/// </summary>
internal sealed partial class PoolRuntime : IDisposable
{
    private readonly ILogger _logger;
    private readonly object _rebuild = new();
    private readonly ConcurrentDictionary<long, ClientSession> _sessions = new();
    private volatile PoolRouting _routing;
    private long _totalConnections;
    private long _clientErrors;
    private long _rejected;
    private long _clientEofs;
    private long _forwardErrors;
    private long _fragments;
    private long _serverEjects;

    public PoolRuntime(PoolConfig config, FlushTicker ticker, ILoggerFactory loggers)
    {
        Config = config;
        var logger = loggers.CreateLogger("Rampart.Backends");
        _logger = logger;
        var servers = config.Servers.Select(s => new ServerEndpoint(config, s, ticker, logger, OnServerEjected)).ToArray();
        _routing = new PoolRouting(config, servers);
        if (config.Sentinel is not null)
            _sentinels = new Topology.SentinelMonitor(config, servers, loggers.CreateLogger("Rampart.Sentinel"));
    }

    private readonly Topology.SentinelMonitor? _sentinels;

    /// <summary>Starts following the Sentinels (Sentinel pools only).</summary>
    public void StartTopology() => _sentinels?.Start();

    public async ValueTask StopTopologyAsync()
    {
        if (_sentinels is not null) await _sentinels.DisposeAsync();
    }

    private void OnServerEjected(ServerEndpoint server)
    {
        CountServerEject();
        server.Stats.MarkEjected();
        LogEjected(Config.Name, server.Endpoint, Config.ServerFailureLimit, Config.ServerRetryTimeoutMs);
        RefreshLiveServers();
    }

    /// <summary>
    /// Swaps in a new routing snapshot when the set of live servers changed: an ejection, or an ejected server whose
    /// server_retry_timeout has passed (it is tried again with real traffic, as twemproxy does). Called on every
    /// ejection and by the periodic maintenance sweep; never on the request path.
    /// </summary>
    public void RefreshLiveServers()
    {
        if (!Config.AutoEjectHosts) return;
        lock (_rebuild)
        {
            var current = _routing;
            var servers = (ServerEndpoint[])current.Servers;
            var live = Array.ConvertAll(servers, s => !s.IsEjected);
            if (live.SequenceEqual(current.Live)) return;
            for (int i = 0; i < servers.Length; i++)
                if (live[i] && !current.Live[i]) LogReadmitted(Config.Name, servers[i].Endpoint);
            _routing = new PoolRouting(Config, servers, live);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: server {Endpoint} ejected after {Failures} consecutive failures; its keys go to the other servers for {RetryMs} ms")]
    private partial void LogEjected(string pool, string endpoint, int failures, int retryMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: server {Endpoint} back in the distribution (retrying after ejection)")]
    private partial void LogReadmitted(string pool, string endpoint);

    public PoolConfig Config { get; }
    public RespLimits Limits { get; } = RespLimits.Default;
    public PoolRouting Routing => _routing;
    /// <summary>The redis_version a server of this pool reported when Rampart connected (for HELLO), if known.</summary>
    public string? ServerVersion => _routing.Servers.Select(s => s.ServerVersion).FirstOrDefault(v => v is not null);
    public int CurrentConnections => _sessions.Count;
    public long TotalConnections => Interlocked.Read(ref _totalConnections);
    public long ClientErrors => Interlocked.Read(ref _clientErrors);
    public IEnumerable<ClientSession> Sessions => _sessions.Values;

    /// <summary>False when <c>client_connections</c> is reached.</summary>
    public bool TryAdmit() => Config.ClientConnections <= 0 || _sessions.Count < Config.ClientConnections;

    public void OnSessionStarted(ClientSession session)
    {
        _sessions[session.Id] = session;
        Interlocked.Increment(ref _totalConnections);
    }

    public void OnSessionClosed(ClientSession session) => _sessions.TryRemove(session.Id, out _);

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

    /// <summary>Connections refused because <c>client_connections</c> was reached.</summary>
    public long RejectedConnections => Interlocked.Read(ref _rejected);
    public void CountRejected() => Interlocked.Increment(ref _rejected);

    public void Preconnect()
    {
        foreach (var server in _routing.Servers) server.Preconnect();
    }

    public void CheckTimeouts(long now)
    {
        foreach (var server in _routing.Servers) server.ExpireHold(now);
        foreach (var server in _routing.Servers) server.CheckTimeouts(now);
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
    }
}
