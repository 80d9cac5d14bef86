using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Pools;

/// <summary>
/// The "apply" half of a reload for one pool (Reload/ holds the whole of it: ConfigDiff and ServerPlan decide, this and
/// ProxyServer.Reload carry out), kept beside them as a part of the pool it changes, since it swaps the pool's own state.
/// </summary>
internal sealed partial class PoolRuntime
{
    /// <summary>
    /// A reload changed this pool's settings: swap the config, then the routing snapshot in one write. Servers that
    /// stay (same address and name) keep their endpoint, connections and ejection state; new ones get an endpoint;
    /// removed ones stop receiving keys now and close once their in-flight requests are answered. A change of
    /// server_connections, redis_auth, redis_db or tcpkeepalive changes what a server connection is, so every server
    /// gets a new endpoint and the old ones retire the same way. Sentinel pools restart their monitor over the new
    /// servers (a master that stays keeps its confirmed address meanwhile).
    /// </summary>
    public void Apply(PoolConfig next)
    {
        lock (_rebuild)
        {
            var previous = _config;
            if (previous.Cluster is not null || next.Cluster is not null)
            {
                ApplyCluster(previous, next);
                if (previous.ReadsFromReplicas || next.ReadsFromReplicas) RestartReplicaChecks(next);
                return;
            }
            var plan = Reload.ServerPlan.For(previous, next, _routing.Servers, s => s.Config);
            _config = next;
            ApplyClientLimits(next);
            if (!next.Commands.Equals(previous.Commands) || next.Name != previous.Name) _commands = PolicyFor(next);
            var servers = new ServerEndpoint[next.Servers.Count];
            var added = new List<ServerEndpoint>();
            for (int i = 0; i < servers.Length; i++)
            {
                if (plan.Kept[i] is { } kept)
                {
                    kept.Update(next, next.Servers[i]);
                    servers[i] = kept;
                }
                else
                {
                    servers[i] = NewServer(next.Servers[i]);
                    added.Add(servers[i]);
                }
            }
            var removed = plan.Removed;
            var live = next.AutoEjectHosts ? Array.ConvertAll(servers, s => !s.IsEjected) : null;
            _routing = new PoolRouting(next, servers, live);

            long now = Time.NowMs();
            foreach (var server in removed) _retiring.Add((server, now + RetireGraceMs, now + RetireLimitMs, RemovedByReload));

            if (previous.Sentinel is not null || next.Sentinel is not null)
            {
                var old = _topology;
                _topology = next.Sentinel is null ? null : NewMonitor(next, servers);
                _topology?.Start();
                if (old is not null) _ = old.DisposeAsync().AsTask();
            }
            if (previous.ReadsFromReplicas || next.ReadsFromReplicas) RestartReplicaChecks(next);
            if (next.Preconnect)
                foreach (var server in added) server.Preconnect();
        }
    }

    /// <summary>
    /// A reload of a cluster pool (or one that becomes or stops being one). Settings that leave the connections as they
    /// are (timeouts, limits, the command policy, the refresh interval) keep the masters, their connections and the
    /// slot map; a change of seeds or refresh interval restarts the topology over the map in use. A change of what a
    /// connection is (user, password, server_connections, tcpkeepalive) or of the pool's kind starts over from the new
    /// seeds, and the old servers retire once what they have in flight is answered.
    /// </summary>
    private string RemovedByReload => $"was removed from pool '{Config.Name}' by a configuration reload";

    private void ApplyCluster(PoolConfig previous, PoolConfig next)
    {
        _config = next;
        ApplyClientLimits(next);
        // A pool that becomes or stops being a cluster pool answers CLUSTER ... itself or stops doing so.
        bool kindChanged = (previous.Cluster is null) != (next.Cluster is null);
        if (kindChanged || !next.Commands.Equals(previous.Commands) || next.Name != previous.Name) _commands = PolicyFor(next);
        var old = _topology;
        bool keepConnections = previous.Cluster is { } before && next.Cluster is { } after && before.User == after.User
            && before.Password == after.Password && previous.ServerConnections == next.ServerConnections
            && previous.TcpKeepalive == next.TcpKeepalive;
        if (keepConnections)
        {
            foreach (var server in _routing.Servers) server.Update(next, server.Config);
            if (previous.Cluster == next.Cluster) return;
            _topology = NewClusterTopology(next);
        }
        else
        {
            RetireServers(_routing.Servers, RemovedByReload);
            var seeds = next.Servers.Select(NewServer).ToArray();
            if (next.Cluster is not null)
            {
                _routing = FirstClusterRouting(seeds);
                _topology = NewClusterTopology(next);
            }
            else
            {
                _routing = new PoolRouting(next, seeds);
                _topology = next.Sentinel is null ? null : NewMonitor(next, seeds);
            }
            if (next.Preconnect) foreach (var seed in seeds) seed.Preconnect();
        }
        _topology?.Start();
        if (old is not null) _ = old.DisposeAsync().AsTask();
    }
}
