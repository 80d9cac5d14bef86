using System.Diagnostics.Metrics;
using System.Globalization;
using Rampart.Proxy;
using Rampart.Proxy.Observability;

namespace Rampart.Admin;

/// <summary>
/// Rampart's System.Diagnostics.Metrics instruments, exported as Prometheus text by OpenTelemetry's exporter on
/// /metrics. All are observable: the request path only bumps the engine's own lock-free counters (CommandMetrics,
/// ServerStats, pool counters) and these callbacks read them at scrape time through <see cref="ProxyServer.TakeSnapshot"/>, so a scrape costs the proxy nothing
/// between scrapes. The Meter lives as long as the admin server.
/// </summary>
/// <remarks>
/// System.Diagnostics.Metrics has no observable histogram, so the latency histograms are exported the way Prometheus
/// stores a classic histogram: cumulative bucket counters with an <c>le</c> label (plus a sum), which
/// <c>histogram_quantile</c> reads as it reads any histogram. See docs/operations.md for the names and queries.
/// </remarks>
internal sealed class AdminMetrics : IDisposable
{
    public const string MeterName = "Rampart";
    private static readonly string[] LeLabels = Enumerable.Range(0, LatencyBuckets.Count)
        .Select(i => i >= LatencyBuckets.Finite ? "+Inf" : LatencyBuckets.UpperBoundSeconds(i).ToString("R", CultureInfo.InvariantCulture))
        .ToArray();

    private readonly ProxyServer _proxy;
    private readonly Meter _meter;

    public AdminMetrics(ProxyServer proxy)
    {
        _proxy = proxy;
        _meter = new Meter(MeterName, TwemproxyStats.Version);

        _meter.CreateObservableCounter("rampart.requests", () => PerCommand((p, b, c) => c.Requests),
            description: "Requests sent to a backend, per pool, backend and command (a split MGET counts once per backend)");
        _meter.CreateObservableCounter("rampart.request.errors", () => PerCommand((p, b, c) => c.Errors),
            description: "Requests answered with an error reply, or failed by Rampart (timeout, lost connection, backend down)");
        _meter.CreateObservableCounter("rampart.command.duration.seconds.bucket", CommandBuckets,
            description: "Latency histogram per command, seconds (cumulative buckets; read with histogram_quantile)");
        _meter.CreateObservableCounter("rampart.command.duration.seconds.sum", () => PerCommandSum(),
            description: "Total latency per command, seconds");
        _meter.CreateObservableCounter("rampart.backend.duration.seconds.bucket", BackendBuckets,
            description: "Latency histogram per backend, seconds (cumulative buckets; read with histogram_quantile)");
        _meter.CreateObservableCounter("rampart.backend.duration.seconds.sum", () => PerBackendSum(),
            description: "Total latency per backend, seconds");

        _meter.CreateObservableGauge("rampart.clients", () => PerPool(p => (long)p.Clients),
            description: "Client connections open now");
        _meter.CreateObservableCounter("rampart.clients.accepted", () => PerPool(p => p.ClientsTotal),
            description: "Client connections accepted since start");
        _meter.CreateObservableCounter("rampart.clients.rejected", () => PerPool(p => p.Rejected),
            description: "Client connections refused (client_connections, max_connections_per_ip or max_connections reached)");
        _meter.CreateObservableCounter("rampart.clients.limited", ClientLimits,
            description: "Times a limit against abuse acted, per pool and limit: client_idle_timeout and auth_timeout (clients closed), max_connections_per_ip (connections refused), max_request_size (requests refused, client closed), auth_failed (wrong passwords), auth_throttled (AUTHs made to wait)");
        _meter.CreateObservableGauge("rampart.backend.up", () => PerBackend(b => b.State == BackendSnapshot.Up ? 1 : 0),
            description: "1 when the backend takes requests, 0 when down, ejected or in failover");
        _meter.CreateObservableGauge("rampart.backend.ejected", () => PerBackend(b => b.State == BackendSnapshot.Ejected ? 1 : 0),
            description: "1 while auto_eject_hosts keeps the backend out of the distribution");
        _meter.CreateObservableGauge("rampart.backend.connections", () => PerBackend(b => b.Connections),
            description: "Connections open to the backend");
        _meter.CreateObservableCounter("rampart.backend.timeouts", () => PerBackend(b => b.Timeouts),
            description: "Requests that got no reply within the pool's timeout");
        _meter.CreateObservableGauge("rampart.sentinel.agreeing", () => PerBackend(b => b.Sentinel?.Agree ?? 0, sentinelOnly: true),
            description: "Sentinels naming the same master at the last check (Sentinel pools)");
        _meter.CreateObservableGauge("rampart.sentinel.master_confirmed", () => PerBackend(b => b.State == BackendSnapshot.Down ? 0 : 1, sentinelOnly: true),
            description: "1 when the shard has a master confirmed by a quorum and by ROLE (Sentinel pools)");
        _meter.CreateObservableGauge("rampart.replication.lag", ReplicationLag, unit: "By",
            description: "Bytes of the replication stream a connected replica lacks (Sentinel pools)");
        _meter.CreateObservableCounter("rampart.backend.server_errors", () => PerBackend(b => b.ServerErrors),
            description: "Requests that failed because of the backend (unreachable, connection lost, timeout), apart from the error replies clients' commands caused");
        _meter.CreateObservableCounter("rampart.backend.writes_acked", () => PerBackend(b => b.WritesAcked),
            description: "Writes held until a WAIT confirmed min_replicas_ack replicas, or came back short (pools with min_replicas_ack)");
        _meter.CreateObservableCounter("rampart.backend.ack_shortfalls", () => PerBackend(b => b.AckShortfalls),
            description: "WAITs that answered with fewer than min_replicas_ack replicas within ack_timeout: their writes got NOREPLICAS");
        _meter.CreateObservableCounter("rampart.replica.reads", () => PerReadReplica(r => r.Reads),
            description: "Reads routed to the replica (pools with read_from)");
        _meter.CreateObservableCounter("rampart.replica.reads_resent", () => PerReadReplica(r => r.ResentToMaster),
            description: "Reads the replica failed (it died or stopped answering) that went to the master instead (pools with read_from)");
        _meter.CreateObservableGauge("rampart.replica.lag_ms", () => PerReadReplica(r => r.LagMs),
            description: "How far behind its master the replica was at the last check, from the replication offsets (pools with read_from)");
        _meter.CreateObservableGauge("rampart.replica.eligible", () => PerReadReplica(r => r.ExcludedBecause is null ? 1 : 0),
            description: "1 while the replica may serve reads; 0 while it is excluded (unreachable, link down, or behind max_replica_lag)");
        _meter.CreateObservableGauge("rampart.cluster.slot_map.version", () => PerCluster(c => c.Version),
            description: "Version of the slot map in use: each map that changed routing, and each MOVED patch, counts one (cluster pools)");
        _meter.CreateObservableGauge("rampart.cluster.slot_map.age", () => PerClusterAge(), unit: "s",
            description: "Seconds since a check last confirmed the slot map in use (cluster pools)");
        _meter.CreateObservableGauge("rampart.cluster.slots_served", () => PerCluster(c => c.ServedSlots),
            description: "Slots some master serves in the map in use; keys of the others fail closed (cluster pools)");
        _meter.CreateObservableGauge("rampart.cluster.node.slots", () => PerClusterBackend(b => b.Slots ?? 0),
            description: "Slots this master serves in the map in use (cluster pools)");
        _meter.CreateObservableCounter("rampart.cluster.redirections", Redirections,
            description: "MOVED and ASK replies followed, per node that sent them (kind=moved|ask; cluster pools)");
        _meter.CreateObservableCounter("rampart.topology.events", () => _proxy.Events.Total,
            description: "Topology events recorded (masters confirmed or lost, failovers, ejections)");
        _meter.CreateObservableCounter("rampart.clients.denied", () => PerPool(p => p.Denied),
            description: "Client connections closed at accept because the pool's allow list does not cover their address");
        _meter.CreateObservableCounter("rampart.clients.tls_refused", () => PerPool(p => p.TlsRefused),
            description: "Client connections to the pool's TLS listener closed because their TLS handshake failed or did not finish within 10 s");
        _meter.CreateObservableCounter("rampart.clients.over_max_connections", () => _proxy.MaxConnectionsRejected,
            description: "Client connections refused because rampart: max_connections was reached");
        _meter.CreateObservableCounter("rampart.config.reloads", Reloads,
            description: "Configuration reloads by result: applied (including those that changed nothing) or failed (the running configuration stayed)");
    }

    private ProxySnapshot Snapshot() => _proxy.TakeSnapshot();

    private IEnumerable<Measurement<long>> PerCommand(Func<PoolSnapshot, BackendSnapshot, CommandCounters, long> value)
    {
        foreach (var pool in Snapshot().Pools)
            foreach (var backend in pool.Backends)
                foreach (var command in backend.Commands)
                    yield return new Measurement<long>(value(pool, backend, command),
                        new("pool", pool.Name), new("backend", backend.Name), new("command", command.Command));
    }

    private IEnumerable<Measurement<double>> PerCommandSum()
    {
        foreach (var pool in Snapshot().Pools)
            foreach (var group in pool.Backends.SelectMany(b => b.Commands).GroupBy(c => c.Command))
                yield return new Measurement<double>(group.Sum(c => c.Seconds), new("pool", pool.Name), new("command", group.Key));
    }

    private IEnumerable<Measurement<double>> PerBackendSum()
    {
        foreach (var pool in Snapshot().Pools)
            foreach (var backend in pool.Backends)
                if (backend.Requests > 0)
                    yield return new Measurement<double>(backend.Commands.Sum(c => c.Seconds), new("pool", pool.Name), new("backend", backend.Name));
    }

    private IEnumerable<Measurement<long>> CommandBuckets()
    {
        foreach (var pool in Snapshot().Pools)
            foreach (var group in pool.Backends.SelectMany(b => b.Commands).GroupBy(c => c.Command))
            {
                var buckets = new long[LatencyBuckets.Count];
                foreach (var command in group)
                    for (int i = 0; i < buckets.Length; i++) buckets[i] += command.Buckets[i];
                foreach (var m in Cumulative(buckets, new("pool", pool.Name), new("command", group.Key))) yield return m;
            }
    }

    private IEnumerable<Measurement<long>> BackendBuckets()
    {
        foreach (var pool in Snapshot().Pools)
            foreach (var backend in pool.Backends)
                if (backend.Requests > 0)
                    foreach (var m in Cumulative(backend.Buckets, new("pool", pool.Name), new("backend", backend.Name))) yield return m;
    }

    private static IEnumerable<Measurement<long>> Cumulative(long[] buckets, KeyValuePair<string, object?> a, KeyValuePair<string, object?> b)
    {
        long running = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            running += buckets[i];
            yield return new Measurement<long>(running, a, b, new("le", LeLabels[i]));
        }
    }

    private IEnumerable<Measurement<long>> ClientLimits()
    {
        foreach (var pool in Snapshot().Pools)
            foreach (var (limit, count) in (pool.ClientLimits ?? ClientLimitSnapshot.None).ByName())
                yield return new Measurement<long>(count, new("pool", pool.Name), new("limit", limit));
    }

    private IEnumerable<Measurement<long>> PerPool(Func<PoolSnapshot, long> value)
    {
        foreach (var pool in Snapshot().Pools) yield return new Measurement<long>(value(pool), new KeyValuePair<string, object?>("pool", pool.Name));
    }

    private IEnumerable<Measurement<long>> PerBackend(Func<BackendSnapshot, long> value, bool sentinelOnly = false)
    {
        foreach (var pool in Snapshot().Pools)
        {
            if (sentinelOnly && !pool.IsSentinel) continue;
            foreach (var backend in pool.Backends)
                yield return new Measurement<long>(value(backend), new("pool", pool.Name), new("backend", backend.Name));
        }
    }

    private IEnumerable<Measurement<long>> PerCluster(Func<ClusterMapSnapshot, long> value)
    {
        foreach (var pool in Snapshot().Pools)
            if (pool.Cluster is { } cluster) yield return new Measurement<long>(value(cluster), new KeyValuePair<string, object?>("pool", pool.Name));
    }

    private IEnumerable<Measurement<double>> PerClusterAge()
    {
        foreach (var pool in Snapshot().Pools)
            if (pool.Cluster is { AgeSeconds: var age } && !double.IsNaN(age))
                yield return new Measurement<double>(age, new KeyValuePair<string, object?>("pool", pool.Name));
    }

    private IEnumerable<Measurement<long>> PerClusterBackend(Func<BackendSnapshot, long> value)
    {
        foreach (var pool in Snapshot().Pools)
            if (pool.IsCluster)
                foreach (var backend in pool.Backends)
                    yield return new Measurement<long>(value(backend), new("pool", pool.Name), new("backend", backend.Name));
    }

    private IEnumerable<Measurement<long>> Redirections()
    {
        foreach (var pool in Snapshot().Pools)
            if (pool.IsCluster)
                foreach (var backend in pool.Backends)
                {
                    yield return new Measurement<long>(backend.Moved, new("pool", pool.Name), new("backend", backend.Name), new("kind", "moved"));
                    yield return new Measurement<long>(backend.Asked, new("pool", pool.Name), new("backend", backend.Name), new("kind", "ask"));
                }
    }

    private IEnumerable<Measurement<long>> Reloads()
    {
        yield return new Measurement<long>(_proxy.ReloadSuccesses, new KeyValuePair<string, object?>("result", "applied"));
        yield return new Measurement<long>(_proxy.ReloadFailures, new KeyValuePair<string, object?>("result", "failed"));
    }

    private IEnumerable<Measurement<long>> ReplicationLag()
    {
        foreach (var pool in Snapshot().Pools)
            foreach (var backend in pool.Backends)
                foreach (var replica in backend.Replicas)
                    yield return new Measurement<long>(replica.LagBytes, new("pool", pool.Name), new("backend", backend.Name), new("replica", replica.Address));
    }

    private IEnumerable<Measurement<long>> PerReadReplica(Func<ReadReplicaSnapshot, long> value)
    {
        foreach (var pool in Snapshot().Pools)
            foreach (var backend in pool.Backends)
                foreach (var replica in backend.ReadReplicas)
                    yield return new Measurement<long>(value(replica), new("pool", pool.Name), new("backend", backend.Name), new("replica", replica.Address));
    }

    public void Dispose() => _meter.Dispose();
}
