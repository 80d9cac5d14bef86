using System.Diagnostics;
using Rampart.Proxy.Observability;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy.Commands;

/// <summary>
/// What Rampart itself says in a pool's merged INFO, where no server's own line is true of the pool: its clients
/// (Rampart's connections to this pool, not the servers' count of Rampart's shared connections), its uptime and
/// version (the process a client talks to), and the pool's mode as Redis names it: <c>standalone</c> for a sharded
/// pool (a client must not take it for a cluster and follow redirections it will never get), <c>cluster</c> for a
/// cluster pool, which answers HELLO's <c>mode</c>, CLUSTER SLOTS/NODES/INFO and the nodes' <c>cluster_enabled:1</c>
/// as one cluster node (StackExchange.Redis takes its ServerType from this line, or from HELLO in RESP3: both must
/// agree). Taken when the INFO is dispatched; immutable.
/// </summary>
internal sealed record InfoFacts(int ConnectedClients, long UptimeSeconds, string Mode)
{
    // The process's own start: the uptime of what the client is connected to, whichever pool it asks.
    private static readonly DateTime ProcessStart = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public static string Version => TwemproxyStats.Version;

    public static InfoFacts Of(PoolRuntime pool) =>
        new(pool.CurrentConnections, Math.Max(0, (long)(DateTime.UtcNow - ProcessStart).TotalSeconds),
            pool.Config.Cluster is null ? "standalone" : "cluster");
}
