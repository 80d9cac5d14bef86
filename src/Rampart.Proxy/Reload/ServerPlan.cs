using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Reload;

/// <summary>
/// What a reload does to a pool's servers, decided from the two configurations before anything changes (diff, then
/// apply: Pools.PoolRuntime.Apply carries it out). A server that stays (same address and name, and connections made
/// the same way) keeps its endpoint, connections and ejection state; one that is new gets an endpoint; one that left is
/// retired. When what a server connection is made of changes (server_connections, redis_auth, redis_db, ...), no
/// endpoint is kept: every server gets a new one and the old ones retire.
/// </summary>
/// <param name="Kept">For each server of the new configuration, in its order: the running server kept, or null for a new one.</param>
/// <param name="Removed">The running servers the new configuration no longer has (all of them when none can be kept).</param>
internal sealed record ServerPlan<TServer>(IReadOnlyList<TServer?> Kept, IReadOnlyList<TServer> Removed) where TServer : class;

/// <summary>Builds a <see cref="ServerPlan{TServer}"/>, and says when two server lines are the same server.</summary>
internal static class ServerPlan
{
    /// <param name="configOf">A running server's configuration line (ServerEndpoint.Config).</param>
    public static ServerPlan<TServer> For<TServer>(PoolConfig previous, PoolConfig next, IReadOnlyList<TServer> current,
        Func<TServer, ServerConfig> configOf) where TServer : class
    {
        if (!SameConnectionShape(previous, next)) return new(new TServer?[next.Servers.Count], current.ToList());
        var reusable = current.ToDictionary(s => Identity(configOf(s)));
        var kept = new TServer?[next.Servers.Count];
        for (int i = 0; i < kept.Length; i++)
            kept[i] = reusable.Remove(Identity(next.Servers[i]), out var server) ? server : null;
        return new(kept, reusable.Values.ToList());
    }

    /// <summary>A server is the same server across a reload when its address and name are.</summary>
    public static (string Host, int Port, string? Name) Identity(ServerConfig server) => (server.Host, server.Port, server.Name);

    /// <summary>What a server connection is made of: when any of these changes, existing connections cannot be reused.</summary>
    private static bool SameConnectionShape(PoolConfig a, PoolConfig b) =>
        a.ServerConnections == b.ServerConnections && a.PinnedConnections == b.PinnedConnections && a.RedisAuth == b.RedisAuth
        && a.RedisDb == b.RedisDb && a.TcpKeepalive == b.TcpKeepalive && (a.Sentinel is null) == (b.Sentinel is null)
        && ConfigDiff.SameServerTls(a.ServerTls, b.ServerTls);
}
