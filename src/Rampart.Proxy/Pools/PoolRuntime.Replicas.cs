using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Replicas;

namespace Rampart.Proxy.Pools;

/// <summary>
/// The pool's replicas for <c>read_from</c>: a tracker checks them and publishes each master's eligible ones on its
/// endpoint; a replica is an endpoint of its own (shared pipelined connections, like a master's), made by the pool
/// with the pool's connection settings, whose failed reads go to its master.
/// </summary>
internal sealed partial class PoolRuntime
{
    // Guarded by _rebuild; null when the pool reads from its masters only.
    private ReplicaTracker? _replicas;

    /// <summary>The replica checks, or null when every read goes to the master.</summary>
    internal ReplicaTracker? ReplicaChecks => _replicas;

    /// <summary>Starts (or restarts, after a reload) the replica checks over the pool's masters. Under _rebuild.</summary>
    private void RestartReplicaChecks(PoolConfig config)
    {
        var old = _replicas;
        _replicas = config.ReadsFromReplicas
            ? new ReplicaTracker(config, () => _routing.Servers, NewReplica, _loggers.CreateLogger("Rampart.Replicas"), Events, Time)
            : null;
        _replicas?.Start();
        if (old is not null) _ = old.DisposeAsync().AsTask();
    }

    private ServerEndpoint NewReplica(ServerConfig replica, ServerEndpoint master)
    {
        // The pool's connection settings (auth, db, timeouts; a cluster's user and password), at a fixed address: no
        // Sentinel or ejection. A cluster replica says READONLY, and a MOVED from it (a slot it does not replicate) is
        // followed like a master's.
        var settings = _config with { Sentinel = null, AutoEjectHosts = false, Replicas = [] };
        return new ServerEndpoint(settings, replica, Loops, _logger, Time, onEjectionChanged: null, _recordMetrics)
        {
            RequestSampler = _sampler,
            Fallback = new ReadFallback(master),
            IsClusterReplica = settings.Cluster is not null,
            Redirects = master.Redirects,
        };
    }

    private async ValueTask StopReplicaChecksAsync()
    {
        ReplicaTracker? tracker;
        lock (_rebuild)
        {
            tracker = _replicas;
            _replicas = null;
        }
        if (tracker is not null) await tracker.DisposeAsync();
    }

    /// <summary>The sweep's share for replicas: request timeouts, and the reconnect backoff.</summary>
    private void CheckReplicaTimeouts(long now)
    {
        if (_replicas is not { } tracker) return;
        foreach (var shard in tracker.Shards)
            foreach (var replica in shard.Replicas)
            {
                replica.Endpoint.CheckTimeouts(now);
                replica.Endpoint.RetryIfDown(now);
            }
    }
}
