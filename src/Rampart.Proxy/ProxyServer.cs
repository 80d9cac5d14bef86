using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy;

/// <summary>
/// The proxy: one listener and one runtime per pool, and the sweep that enforces request timeouts.
/// Start binds every listener first, so a bad address stops start-up before any client is accepted.
/// </summary>
public sealed partial class ProxyServer : IAsyncDisposable
{
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly List<(PoolRuntime Pool, PoolListener Listener)> _pools = [];
    private Timer? _timeoutSweep;
    private readonly Backends.FlushTicker _ticker = new();

    public ProxyServer(ProxyConfig config, ILoggerFactory? loggers = null)
    {
        Config = config;
        _loggers = loggers ?? NullLoggerFactory.Instance;
        _logger = _loggers.CreateLogger("Rampart.Proxy");
    }

    public ProxyConfig Config { get; }

    public Task StartAsync()
    {
        var clientLogger = _loggers.CreateLogger("Rampart.Clients");
        try
        {
            foreach (var poolConfig in Config.Pools)
            {
                var pool = new PoolRuntime(poolConfig, _ticker, _loggers);
                PoolListener listener;
                try
                {
                    listener = new PoolListener(pool, clientLogger);
                }
                catch
                {
                    pool.Dispose();
                    throw;
                }
                _pools.Add((pool, listener));
            }
        }
        catch
        {
            DisposePools();
            throw;
        }

        foreach (var (pool, listener) in _pools)
        {
            listener.Start();
            pool.StartTopology();
            if (pool.Config.Preconnect) pool.Preconnect();
            LogListening(pool.Config.Name, listener.LocalEndPoint.ToString() ?? "?", pool.Config.Servers.Count);
        }
        StartTimeoutSweep();
        PublishStatsSnapshot();
        return Task.CompletedTask;
    }

    /// <summary>The address a pool listens on, with the real port when the config said port 0.</summary>
    /// <summary>A running pool by name (tests and diagnostics).</summary>
    internal Clients.PoolRuntime GetPool(string poolName) => _pools.First(p => p.Pool.Config.Name == poolName).Pool;

    public EndPoint GetListenEndPoint(string poolName) =>
        _pools.First(p => p.Pool.Config.Name == poolName).Listener.LocalEndPoint;

    /// <summary>
    /// One periodic sweep for what is not on the request path: request timeouts, and readmission of servers whose
    /// ejection ended. It ticks several times per shortest timeout, so a late reply is caught within a small fraction
    /// of it, and every 100 ms otherwise.
    /// </summary>
    private void StartTimeoutSweep()
    {
        var timeouts = Config.Pools.Where(p => p.TimeoutMs is not null).Select(p => p.TimeoutMs!.Value).ToList();
        int period = timeouts.Count == 0 ? 100 : Math.Clamp(timeouts.Min() / 10, 5, 100);
        _timeoutSweep = new Timer(_ =>
        {
            long now = Environment.TickCount64;
            foreach (var (pool, _) in _pools)
            {
                pool.CheckTimeouts(now);
                pool.RefreshLiveServers();
            }
        }, null, period, period);
    }

    /// <summary>
    /// Graceful stop: no new connections, requests already sent get their replies for up to
    /// <paramref name="drain"/>, then every connection closes.
    /// </summary>
    public async Task StopAsync(TimeSpan drain)
    {
        foreach (var (_, listener) in _pools) listener.Dispose();
        var deadline = DateTime.UtcNow + drain;
        while (DateTime.UtcNow < deadline && !_pools.All(p => p.Pool.IsIdle))
            await Task.Delay(20);
        foreach (var (pool, _) in _pools)
        {
            pool.CloseAllSessions();
            await pool.StopTopologyAsync();
        }
        DisposePools();
    }

    private void DisposePools()
    {
        _timeoutSweep?.Dispose();
        _ticker.Dispose();
        foreach (var (pool, listener) in _pools)
        {
            listener.Dispose();
            pool.Dispose();
        }
        _pools.Clear();
    }

    public async ValueTask DisposeAsync() => await StopAsync(TimeSpan.Zero);

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool} listening on {Listen} with {Servers} server(s)")]
    private partial void LogListening(string pool, string listen, int servers);
}
