using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Pools;
using Rampart.Proxy.Security;

namespace Rampart.Proxy;

/// <summary>
/// The proxy: one listener and one runtime per pool, and the sweep that enforces request timeouts (and gives memory
/// back to the system after bursts, <see cref="Memory.MemoryReclaimer"/>).
/// Start binds every listener first, so a bad address stops start-up before any client is accepted.
/// The live pool set is one immutable array read through a volatile field (<see cref="Pools"/>): a reload
/// (ProxyServer.Reload.cs) builds the next one and swaps it in whole.
/// Every rule of the engine that time decides (backoff, ejection, timeouts, failover holds, Sentinel re-checks, the
/// sweep itself) reads the one <see cref="Time"/> given here, passed down to each pool, server and client.
/// </summary>
public sealed partial class ProxyServer : IAsyncDisposable
{
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly ConnectionBudget _budget = new();
    private volatile ProxyConfig _config;
    private volatile PoolRuntime[] _pools = [];
    // Pools a reload removed whose clients are still finishing (guarded by _reloadGate).
    private readonly List<PoolRuntime> _draining = [];
    private ITimer? _timeoutSweep;
    private int _sweepPeriodMs;
    private bool _stopping; // guarded by _reloadGate: no reload once a stop began
    private readonly Transport.EventLoopGroup _loops;
    private readonly Memory.MemoryReclaimer _reclaimer;

    /// <param name="recordMetrics">
    /// Count per-command requests, errors and latency (what the admin server exports). The executable turns it on
    /// with the admin server: without one nothing reads them, and the request path then takes no clock readings.
    /// </param>
    /// <param name="time">The engine's clock: <see cref="TimeProvider.System"/> (the default) in production, a fake in tests.</param>
    public ProxyServer(ProxyConfig config, ILoggerFactory? loggers = null, bool recordMetrics = true, TimeProvider? time = null)
    {
        _config = config;
        Time = time ?? TimeProvider.System;
        _reclaimer = new Memory.MemoryReclaimer(Time);
        RecordsMetrics = recordMetrics;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger("Rampart.Proxy");
        _loops = new Transport.EventLoopGroup(config.Settings.EventLoops ?? Transport.EventLoopGroup.DefaultCount, _loggers);
        RequestSampler = new Observability.RequestSampler(_loggers);
        _budget.Max = config.Settings.MaxConnections;
        _authThrottle = new AuthThrottle(Time) { Config = config.Settings.AuthThrottle };
    }

    // Failed AUTHs per source address, shared by every pool: a guesser does not get a fresh budget per pool.
    private readonly AuthThrottle _authThrottle;
    private long _lastThrottleSweepMs;

    /// <summary>The clock every time rule of the engine reads (one instance, passed down to pools, servers and clients).</summary>
    public TimeProvider Time { get; }

    /// <summary>Event loop threads running (<c>rampart: {event_loops}</c>, fixed at start).</summary>
    public int EventLoopCount => _loops.Count;

    /// <summary>Whether per-command metrics are recorded (see the constructor).</summary>
    public bool RecordsMetrics { get; }

    /// <summary>Topology events of every pool (bounded ring), for the admin API.</summary>
    public Observability.TopologyEventLog Events { get; } = new();

    /// <summary>Per-request debug logging, off unless switched on (admin API <c>/loglevel</c>).</summary>
    public Observability.RequestSampler RequestSampler { get; }

    // Not a field: the logging source generator wants exactly one ILogger field in this class.
    private ILogger ClientLogger => _loggers.CreateLogger("Rampart.Clients");

    /// <summary>The configuration running now (the last one a reload applied).</summary>
    public ProxyConfig Config => _config;

    /// <summary>The running pools, in configuration order: one array, replaced whole by a reload, never edited.</summary>
    internal IReadOnlyList<PoolRuntime> Pools => _pools;

    /// <summary>Client connections over all pools now, against <c>rampart: {max_connections}</c>.</summary>
    public int ClientConnections => _budget.Current;
    /// <summary>Connections refused because <c>max_connections</c> was reached.</summary>
    public long MaxConnectionsRejected => _budget.Rejected;

    public Task StartAsync()
    {
        var started = new List<PoolRuntime>();
        try
        {
            foreach (var poolConfig in Config.Pools) started.Add(CreatePool(poolConfig));
        }
        catch
        {
            foreach (var pool in started) DisposePool(pool);
            throw;
        }

        LogEventLoops(_loops.Count);
        foreach (var pool in started) StartPool(pool);
        _pools = started.ToArray();
        StartTimeoutSweep();
        return Task.CompletedTask;
    }

    /// <summary>A pool with its listener bound (not accepting yet); nothing is left open if binding fails.</summary>
    private PoolRuntime CreatePool(PoolConfig config)
    {
        var pool = NewPoolRuntime(config);
        pool.UseAcl(_config.Settings.Acl);
        try
        {
            pool.Listener = new PoolListener(pool, config.Listen, config.Backlog, ClientLogger, TakeInherited(config.Listen));
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            pool.Dispose();
            // The socket's own message ("Address already in use") names neither the address nor the pool; a reload
            // says the same thing in the same words (ProxyServer.Reload.Bind).
            throw new IOException($"{_config.Source}:{config.Line}: pool '{config.Name}': cannot listen on {config.Listen}: {e.Message}", e);
        }
        catch
        {
            pool.Dispose();
            throw;
        }
        try
        {
            BindTls(pool, config);
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException or TlsFileException)
        {
            DisposePool(pool);
            throw new IOException($"{_config.Source}:{config.Tls!.Line}: pool '{config.Name}': cannot listen with TLS on {config.Tls.Listen}: {e.Message}", e);
        }
        return pool;
    }

    /// <summary>A pool's runtime sharing the proxy's event log, request sampler, metrics switch and connection budget.</summary>
    private PoolRuntime NewPoolRuntime(PoolConfig config) =>
        new(config, _loops, _loggers, Time, _budget, Events, RequestSampler, RecordsMetrics, _authThrottle);

    private void StartPool(PoolRuntime pool)
    {
        pool.Listener!.Start();
        StartTls(pool);
        pool.StartTopology();
        if (pool.Config.Preconnect) pool.Preconnect();
        LogListening(pool.Config.Name, pool.Listener.LocalEndPoint.ToString() ?? "?", pool.Config.Servers.Count);
    }

    /// <summary>A running pool by name (tests and diagnostics).</summary>
    internal PoolRuntime GetPool(string poolName) => _pools.First(p => p.Config.Name == poolName);

    /// <summary>The address a pool listens on, with the real port when the config said port 0.</summary>
    public EndPoint GetListenEndPoint(string poolName) =>
        _pools.First(p => p.Config.Name == poolName).Listener!.LocalEndPoint;

    /// <summary>
    /// One periodic sweep for what is not on the request path: request timeouts, readmission of servers whose
    /// ejection ended, closing servers and pools a reload removed. It ticks several times per shortest timeout, so a
    /// late reply is caught within a small fraction of it, and every 100 ms otherwise.
    /// </summary>
    private void StartTimeoutSweep()
    {
        _sweepPeriodMs = SweepPeriod(Config);
        var period = TimeSpan.FromMilliseconds(_sweepPeriodMs);
        _timeoutSweep = Time.CreateTimer(_ => Sweep(), null, period, period);
    }

    private static int SweepPeriod(ProxyConfig config)
    {
        var timeouts = config.Pools.Where(p => p.TimeoutMs is not null).Select(p => p.TimeoutMs!.Value).ToList();
        return timeouts.Count == 0 ? 100 : Math.Clamp(timeouts.Min() / 10, 5, 100);
    }

    private void Sweep()
    {
        long now = Time.NowMs();
        foreach (var pool in _pools)
        {
            pool.CheckTimeouts(now);
            pool.RefreshLiveServers();
            pool.CheckClients(now);
        }
        if (now - _lastThrottleSweepMs >= 1000)
        {
            _lastThrottleSweepMs = now;
            _authThrottle.Sweep(now);
        }
        SweepDraining(now);
        var reclaimed = _reclaimer.Sweep(RelayedBytes, ConnectionChanges);
        if (reclaimed != Memory.MemoryReclaimer.Reclaim.None)
        {
            var gc = GC.GetGCMemoryInfo(GCKind.FullBlocking);
            string reason = reclaimed == Memory.MemoryReclaimer.Reclaim.Connections ? "client connections opened or closed" : "the process grew";
            LogMemoryReclaimed(reason, gc.PauseDurations[0].TotalMilliseconds, Environment.WorkingSet >> 20, gc.HeapSizeBytes >> 20,
                gc.TotalCommittedBytes >> 20);
        }
    }

    /// <summary>Client connections the running pools opened, plus those they closed, so far (for the reclaimer's bursts).</summary>
    private long ConnectionChanges()
    {
        long total = 0;
        foreach (var pool in _pools) total += 2 * pool.TotalConnections - pool.CurrentConnections;
        return total;
    }

    /// <summary>Bytes written to and read from every server of the running pools (for the reclaimer's "quiet").</summary>
    private long RelayedBytes()
    {
        long total = 0;
        foreach (var pool in _pools)
            foreach (var server in pool.Routing.Servers) total += server.Stats.RequestBytes + server.Stats.ResponseBytes;
        return total;
    }

    /// <summary>
    /// Graceful stop: no new connections, requests already sent get their replies for up to
    /// <paramref name="drain"/>, then every connection closes.
    /// </summary>
    public async Task StopAsync(TimeSpan drain)
    {
        lock (_reloadGate) _stopping = true;
        var pools = _pools;
        foreach (var pool in pools)
        {
            pool.Listener?.Dispose();
            pool.TlsListener?.Dispose();
        }
        long started = Time.GetTimestamp();
        while (Time.GetElapsedTime(started) < drain && !pools.All(p => p.IsIdle))
            await Task.Delay(TimeSpan.FromMilliseconds(20), Time);
        _timeoutSweep?.Dispose();
        List<PoolRuntime> draining;
        lock (_reloadGate)
        {
            draining = [.. _draining];
            _draining.Clear();
            _pools = [];
        }
        foreach (var pool in pools.Concat(draining))
        {
            pool.CloseAllSessions();
            await pool.StopTopologyAsync();
            DisposePool(pool);
        }
        _loops.Dispose();
    }

    private static void DisposePool(PoolRuntime pool)
    {
        pool.Listener?.Dispose();
        pool.TlsListener?.Dispose();
        pool.Dispose();
    }

    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.Zero);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Memory given back to the system after a burst ({Reason}: collection paused {PauseMs:F1} ms); resident now {ResidentMb} MB (managed heap {HeapMb} MB, committed {CommittedMb} MB)")]
    private partial void LogMemoryReclaimed(string reason, double pauseMs, long residentMb, long heapMb, long committedMb);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Loops} event loop thread(s) (rampart: event_loops)")]
    private partial void LogEventLoops(int loops);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool} listening on {Listen} with {Servers} server(s)")]
    private partial void LogListening(string pool, string listen, int servers);
}
