using Rampart.Proxy.Observability;

namespace Rampart.Admin;

/// <summary>
/// /readyz: Rampart is ready when every pool can serve its keys. A pool is not ready when none of its backends can
/// take requests, when a Sentinel shard has no confirmed master (its keys would fail: fail closed), or, without
/// auto_eject_hosts, when any server is down (its keys have nowhere else to go), or when a cluster pool's slot map
/// leaves slots without a master.
/// </summary>
internal static class Readiness
{
    /// <returns>Why Rampart is not ready, one line per problem; empty when ready.</returns>
    public static List<string> Problems(ProxySnapshot snapshot)
    {
        var problems = new List<string>();
        if (snapshot.Pools.Length == 0) problems.Add("no pool is running");
        foreach (var pool in snapshot.Pools)
        {
            var usable = pool.Backends.Count(b => b.State is BackendSnapshot.Up or BackendSnapshot.Failover);
            if (usable == 0)
            {
                string why = string.Join("; ", pool.Backends.Select(b => $"{b.Name} {b.State}{(b.Reason is null ? "" : $": {b.Reason}")}"));
                problems.Add($"pool '{pool.Name}' has no usable backend ({why})");
                continue;
            }
            if (pool.Cluster is { ServedSlots: < 16384 } map)
                problems.Add($"pool '{pool.Name}': {16384 - map.ServedSlots} of 16384 cluster slots have no master in the slot map (their keys fail closed)");
            if (pool.Cluster is { Problem: { } untrusted })
                problems.Add($"pool '{pool.Name}': no healthy cluster master gave a slot map at the last check ({untrusted})");
            foreach (var backend in pool.Backends)
            {
                if (backend.State is BackendSnapshot.Up or BackendSnapshot.Failover) continue;
                if (pool.IsSentinel)
                    problems.Add($"pool '{pool.Name}': shard '{backend.Name}' has no confirmed master ({backend.Reason})");
                else if (backend.State == BackendSnapshot.Down && !pool.AutoEject)
                    problems.Add($"pool '{pool.Name}': server {backend.Name} is down ({backend.Reason})");
            }
        }
        return problems;
    }
}
