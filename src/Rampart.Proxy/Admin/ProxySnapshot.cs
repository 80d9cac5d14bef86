using System.Diagnostics;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Observability;
using Rampart.Proxy.Topology;

namespace Rampart.Proxy.Admin;

/// <summary>
/// Everything the dashboard, /readyz and the metrics show, read from the live pools at one moment. Taking one reads
/// counters only (no lock on the request path); it allocates, so it is taken per admin request or sample, never per
/// proxied request.
/// </summary>
internal sealed record ProxySnapshot(DateTimeOffset Time, long Timestamp, PoolSnapshot[] Pools)
{
    public static ProxySnapshot Take(ProxyServer proxy) =>
        new(DateTimeOffset.UtcNow, Stopwatch.GetTimestamp(), proxy.RunningPools.Select(PoolSnapshot.Take).ToArray());
}

internal sealed record PoolSnapshot(string Name, string Listen, bool IsSentinel, bool AutoEject, int Clients, long ClientsTotal,
    long Rejected, long Denied, long ClientErrors, BackendSnapshot[] Backends)
{
    public static PoolSnapshot Take(RunningPool running)
    {
        var pool = running.Pool;
        return new PoolSnapshot(pool.Config.Name, running.Listen, pool.Config.Sentinel is not null, pool.Config.AutoEjectHosts,
            pool.CurrentConnections, pool.TotalConnections, pool.RejectedConnections, pool.DeniedConnections, pool.ClientErrors,
            pool.Routing.Servers.Select(BackendSnapshot.Take).ToArray());
    }

    public long Requests => Backends.Sum(b => b.Requests);
    public long Errors => Backends.Sum(b => b.Errors);
}

/// <summary>One backend: a server of a plain pool, or a Sentinel shard (its confirmed master and replicas).</summary>
internal sealed record BackendSnapshot(string Name, string Address, string Role, string State, string? Reason, int Connections,
    long Requests, long Errors, long Timeouts, long[] Buckets, List<CommandCounters> Commands, SentinelView? Sentinel,
    IReadOnlyList<ReplicaInfo> Replicas, int ReplicasKnown)
{
    public const string Up = "up", Ejected = "ejected", Down = "down", Failover = "failover";

    public static BackendSnapshot Take(ServerEndpoint server)
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
        return new BackendSnapshot(TwemproxyStats.NameOf(server), address, sentinel ? "master" : "server", state,
            state == Up ? null : server.DownReason ?? (state == Ejected ? "ejected by auto_eject_hosts" : null),
            server.Stats.Connections, requests, errors, server.Stats.Timeouts, buckets, commands, server.SentinelView,
            sentinel ? server.Replicas.Connected : [], sentinel ? server.Replicas.Known : 0);
    }
}
