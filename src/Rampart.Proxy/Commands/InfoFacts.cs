using System.Diagnostics;
using Rampart.Proxy.Observability;
using Rampart.Proxy.Pools;

namespace Rampart.Proxy.Commands;

/// <summary>
/// What Rampart itself says in a pool's merged INFO, where no server's own line is true of the pool: its clients
/// (Rampart's connections to this pool, not the servers' count of Rampart's shared connections), its uptime and
/// version (the process a client talks to), and the pool's mode as Redis names it (<c>standalone</c> for a sharded
/// pool: a client must not take it for a cluster and follow redirections it will never get). Taken when the INFO is
/// dispatched; immutable.
/// </summary>
internal sealed record InfoFacts(int ConnectedClients, long UptimeSeconds, string Mode)
{
    // The process's own start: the uptime of what the client is connected to, whichever pool it asks.
    private static readonly DateTime ProcessStart = Process.GetCurrentProcess().StartTime.ToUniversalTime();

    public static string Version => TwemproxyStats.Version;

    public static InfoFacts Of(PoolRuntime pool, string mode = "standalone") =>
        new(pool.CurrentConnections, Math.Max(0, (long)(DateTime.UtcNow - ProcessStart).TotalSeconds), mode);
}
