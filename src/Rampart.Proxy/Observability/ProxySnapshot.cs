using System.Diagnostics;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Observability;

/// <summary>
/// What the engine publishes to its observers (the admin server's dashboard, /readyz and metrics in Rampart.Admin):
/// every pool and backend read from the live pools at one moment, as plain read-only records, so an observer needs
/// none of the engine's internal types. Taking one reads counters only (no lock on the request path); it allocates,
/// so it is taken per admin request or sample, never per proxied request (<see cref="ProxyServer.TakeSnapshot"/>).
/// </summary>
/// <param name="Timestamp">Stopwatch ticks at the moment of the snapshot, to measure the time between two.</param>
public sealed record ProxySnapshot(DateTimeOffset Time, long Timestamp, PoolSnapshot[] Pools)
{
    // Raw clocks: the snapshot's wall time and a timestamp for rates between snapshots, shown to people, deciding nothing.
    internal static ProxySnapshot Take(ProxyServer proxy) =>
        new(DateTimeOffset.UtcNow, Stopwatch.GetTimestamp(), proxy.RunningPools.Select(PoolSnapshot.Take).ToArray());
}

/// <summary>
/// One running pool: its listen address (the real port when the config said 0), client counters, backends, and for a
/// Redis Cluster pool its slot map (<see cref="Cluster"/>).
/// </summary>
public sealed record PoolSnapshot(string Name, string Listen, bool IsSentinel, bool AutoEject, int Clients, long ClientsTotal,
    long Rejected, long Denied, long ClientErrors, BackendSnapshot[] Backends, ClusterMapSnapshot? Cluster = null,
    ClientLimitSnapshot? ClientLimits = null, long TlsRefused = 0)
{
    internal static PoolSnapshot Take(RunningPool running)
    {
        var pool = running.Pool;
        var routing = pool.Routing;
        var slots = routing.IsCluster ? SlotsPerServer(routing) : null;
        return new PoolSnapshot(pool.Config.Name, running.Listen, pool.Config.Sentinel is not null, pool.Config.AutoEjectHosts,
            pool.CurrentConnections, pool.TotalConnections, pool.RejectedConnections, pool.DeniedConnections, pool.ClientErrors,
            routing.Servers.Select((s, i) => BackendSnapshot.Take(s, slots?[i]) with
            {
                ReadReplicas = ReadReplicaSnapshot.Of(pool, s),
                WritesAcked = s.Stats.AckedWrites,
                ServerErrors = s.Stats.FailedRequests,
                ReplicasNotConnected = pool.Config.Sentinel is null ? [] : s.Replicas.NotConnected.Select(r => new MissingReplicaSnapshot(r.Address, r.Reason)).ToArray(),
                AckShortfalls = s.Stats.AckShortfalls,
            }).ToArray(),
            routing.IsCluster ? ClusterMapSnapshot.Take(pool, routing) : null, pool.ClientLimitCounts, pool.TlsRefused);
    }

    private static int[] SlotsPerServer(Pools.PoolRouting routing)
    {
        var counts = new int[routing.Servers.Count];
        foreach (short owner in routing.SlotOwners)
            if (owner != Pools.PoolRouting.Unserved) counts[owner]++;
        return counts;
    }

    public bool IsCluster => Cluster is not null;

    public long Requests => Backends.Sum(b => b.Requests);
    public long Errors => Backends.Sum(b => b.Errors);
}

/// <summary>
/// One backend: a server of a plain pool, or a Sentinel shard (its confirmed master and replicas). <see cref="State"/>
/// is one of <see cref="Up"/>, <see cref="Ejected"/>, <see cref="Down"/>, <see cref="Failover"/>; <see cref="Buckets"/>
/// is the latency histogram of every command together (<see cref="LatencyBuckets"/>).
/// </summary>
/// <param name="Slots">Cluster pools: how many slots this master serves in the map in use (null in other pools).</param>
/// <param name="Moved">Cluster pools: MOVED replies from this node that Rampart followed.</param>
/// <param name="Asked">Cluster pools: ASK replies from this node that Rampart followed.</param>
public sealed record BackendSnapshot(string Name, string Address, string Role, string State, string? Reason, int Connections,
    long Requests, long Errors, long Timeouts, long[] Buckets, IReadOnlyList<CommandCounters> Commands, SentinelAgreement? Sentinel,
    IReadOnlyList<ReplicaSnapshot> Replicas, int ReplicasKnown, int? Slots = null, long Moved = 0, long Asked = 0)
{
    /// <summary>Pools with <c>read_from</c>: the replicas this master's reads may go to, as the last check found them.</summary>
    public IReadOnlyList<ReadReplicaSnapshot> ReadReplicas { get; init; } = [];

    /// <summary>Sentinel pools: replicas the Sentinels know that the master does not list as connected, with the reason.</summary>
    public IReadOnlyList<MissingReplicaSnapshot> ReplicasNotConnected { get; init; } = [];

    /// <summary>Requests that failed because of the server (unreachable, connection lost, timeout): an incident.</summary>
    public long ServerErrors { get; init; }

    /// <summary>Error replies from Redis that a client's command caused (WRONGTYPE, a script's error, ...): not an incident.</summary>
    public long ReplyErrors => Math.Max(0, Errors - ServerErrors);

    /// <summary>Pools with <c>min_replicas_ack</c>: writes held until a WAIT answered.</summary>
    public long WritesAcked { get; init; }

    /// <summary>Pools with <c>min_replicas_ack</c>: WAITs that answered with too few replicas (their writes got NOREPLICAS).</summary>
    public long AckShortfalls { get; init; }

    public const string Up = "up", Ejected = "ejected", Down = "down", Failover = "failover";

    internal static BackendSnapshot Take(ServerEndpoint server, int? slots = null)
    {
        var commands = server.Commands?.Snapshot() ?? [];
        var buckets = new long[LatencyBuckets.Count];
        long requests = 0, errors = 0;
        foreach (var command in commands)
        {
            requests += command.Requests;
            errors += command.Errors;
            for (int i = 0; i < buckets.Length; i++) buckets[i] += command.Buckets[i];
        }
        bool sentinel = server.Pool.Sentinel is not null;
        string state = server.IsEjected ? Ejected : server.IsHolding ? Failover : server.IsDown ? Down : Up;
        string address = sentinel ? server.Address?.ToString() ?? "(no confirmed master)" : server.Config.Endpoint;
        var view = server.SentinelView;
        return new BackendSnapshot(TwemproxyStats.NameOf(server), address, sentinel || slots is not null ? "master" : "server", state,
            state == Up ? null : server.DownReason ?? (state == Ejected ? "ejected by auto_eject_hosts" : null),
            server.Stats.Connections, requests, errors, server.Stats.Timeouts, buckets, commands,
            view is null ? null : new SentinelAgreement(view.Agree, view.Asked, view.Needed),
            sentinel ? server.Replicas.Connected.Select(r => new ReplicaSnapshot(r.Address, r.LagBytes)).ToArray() : [],
            sentinel ? server.Replicas.Known : 0, slots, server.Stats.Moved, server.Stats.Asked);
    }
}

/// <summary>The last check of a Sentinel shard: how many Sentinels named the master it confirmed, of how many asked, and the quorum.</summary>
public sealed record SentinelAgreement(int Agree, int Asked, int Needed);

/// <summary>
/// A replica that a master's reads may go to (<c>read_from</c>): reads routed to it, reads it failed that went to the
/// master instead, how far behind it was at the last check (ms), and why it gets no reads now (null: it is eligible).
/// </summary>
public sealed record ReadReplicaSnapshot(string Address, long Reads, long ResentToMaster, long LagMs, string? ExcludedBecause)
{
    internal static IReadOnlyList<ReadReplicaSnapshot> Of(Pools.PoolRuntime pool, ServerEndpoint master)
    {
        if (pool.ReplicaChecks is not { } checks) return [];
        var shard = checks.Shards.FirstOrDefault(s => ReferenceEquals(s.Master, master));
        if (shard is null) return [];
        return shard.Replicas.OrderBy(r => r.Endpoint.Endpoint, StringComparer.Ordinal)
            .Select(r => new ReadReplicaSnapshot(r.Endpoint.Endpoint, r.Reads, (r.Endpoint.Fallback as Replicas.ReadFallback)?.Resent ?? 0, r.LagMs, r.ExcludedBecause))
            .ToArray();
    }
}

/// <summary>A replica the Sentinels know that is not connected to the shard's master, and why, as far as the Sentinels tell.</summary>
public sealed record MissingReplicaSnapshot(string Address, string Reason);

/// <summary>A replica connected to a shard's confirmed master, and how many bytes of the replication stream it lacks.</summary>
public sealed record ReplicaSnapshot(string Address, long LagBytes);

/// <summary>
/// A Redis Cluster pool's slot map: its version (each full map or MOVED patch counts one), how long ago a check last
/// confirmed it, how many of the 16384 slots some master serves (fewer: those keys fail closed), and why the last check
/// trusted no node's map, if it did not (no healthy master answered: the map in use stays meanwhile).
/// </summary>
public sealed record ClusterMapSnapshot(long Version, double AgeSeconds, int ServedSlots, string? Problem)
{
    internal static ClusterMapSnapshot Take(Pools.PoolRuntime pool, Pools.PoolRouting routing)
    {
        long confirmed = pool.SlotMapConfirmedAtMs;
        double age = confirmed == 0 ? double.NaN : (pool.Time.NowMs() - confirmed) / 1000.0;
        return new ClusterMapSnapshot(routing.Version, age, routing.ServedSlots, pool.SlotMapProblem);
    }
}

/// <summary>
/// What the limits against abuse did to one pool's clients since start: closed idle (<c>client_idle_timeout</c>), closed
/// before authenticating or sending a whole request (<c>auth_timeout</c>), refused at accept (<c>max_connections_per_ip</c>),
/// refused a request (<c>max_request_size</c>), and AUTH attempts that failed or were made to wait (<c>auth_throttle</c>).
/// </summary>
public sealed record ClientLimitSnapshot(long IdleClosed, long AuthTimeoutClosed, long PerIpRejected, long RequestTooLarge,
    long AuthFailed, long AuthDelayed)
{
    public static ClientLimitSnapshot None { get; } = new(0, 0, 0, 0, 0, 0);

    /// <summary>Each counter with the name /metrics gives it in its <c>limit</c> label.</summary>
    public IEnumerable<(string Limit, long Count)> ByName() =>
    [
        ("client_idle_timeout", IdleClosed), ("auth_timeout", AuthTimeoutClosed), ("max_connections_per_ip", PerIpRejected),
        ("max_request_size", RequestTooLarge), ("auth_failed", AuthFailed), ("auth_throttled", AuthDelayed),
    ];
}
