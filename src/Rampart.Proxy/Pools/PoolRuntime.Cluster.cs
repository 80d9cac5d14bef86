using Microsoft.Extensions.Logging;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Topology;

namespace Rampart.Proxy.Pools;

/// <summary>
/// A Redis Cluster pool's side of the pool: its servers are the cluster's masters, and its routing snapshot sends each
/// slot to one of them. The snapshot is rebuilt whole from each trusted slot map (<see cref="ApplySlotMap"/>) and
/// patched for one slot by a MOVED (<see cref="ClusterServerAt"/>); masters that leave the map stop receiving
/// requests at once and close once what they have in flight is answered, as a reload retires removed servers.
/// </summary>
internal sealed partial class PoolRuntime
{
    private ClusterRedirects? _redirects;
    private long _slotMapVersion;
    private long _slotMapAtMs;

    /// <summary>When the slot map in use was last confirmed by a check (ms on the proxy's clock), 0 before the first.</summary>
    public long SlotMapConfirmedAtMs => Volatile.Read(ref _slotMapAtMs);

    /// <summary>A cluster pool before its first map: the seeds, serving no slot (every keyed request fails closed).</summary>
    private PoolRouting FirstClusterRouting(ServerEndpoint[] seeds)
    {
        _redirects ??= new ClusterRedirects(this);
        foreach (var seed in seeds) WireClusterServer(seed);
        var owners = new short[Rampart.Proxy.Routing.ClusterSlot.Count];
        Array.Fill(owners, PoolRouting.Unserved);
        return new PoolRouting(seeds, owners, version: 0);
    }

    private ClusterTopology NewClusterTopology(PoolConfig config) =>
        new(config, KnownMasters, ApplySlotMap, _loggers.CreateLogger("Rampart.Cluster"), Time);

    private void WireClusterServer(ServerEndpoint server)
    {
        server.Redirects = _redirects;
        server.ConnectionLost = RefreshSlotMap;
    }

    /// <summary>Cluster pools: why the last check of the slot map trusted no node's answer (the map in use stays), or null.</summary>
    public string? SlotMapProblem => (_topology as ClusterTopology)?.LastProblem;

    /// <summary>Asks the pool's cluster topology for a check of the slot map now (coalesced with one under way).</summary>
    public void RefreshSlotMap() => (_topology as ClusterTopology)?.Refresh();

    /// <summary>The masters of the map in use (the nodes that know the newest map): asked first at each check.</summary>
    private IReadOnlyList<(string Host, int Port)> KnownMasters()
    {
        var routing = _routing;
        if (!routing.IsCluster) return [];
        var serving = new bool[routing.Servers.Count];
        foreach (short owner in routing.SlotOwners)
            if (owner != PoolRouting.Unserved) serving[owner] = true;
        var masters = new List<(string Host, int Port)>();
        for (int i = 0; i < serving.Length; i++)
            if (serving[i]) masters.Add((routing.Servers[i].Config.Host, routing.Servers[i].Config.Port));
        return masters;
    }

    /// <summary>
    /// Swaps in the routing of a trusted slot map: each master keeps its endpoint (and connections) when it was
    /// already a server of the pool, new masters get one, and servers that serve nothing any more retire. A map equal
    /// to the one in use only refreshes its age.
    /// </summary>
    public void ApplySlotMap(SlotMap map)
    {
        lock (_rebuild)
        {
            var config = _config;
            if (config.Cluster is null) return; // a reload turned the pool into another kind meanwhile
            Volatile.Write(ref _slotMapAtMs, Time.NowMs());
            var current = _routing;
            if (map.Shards.Count == 0 || map.Fingerprint == FingerprintOf(current)) return;
            var byEndpoint = current.Servers.ToDictionary(s => s.Endpoint, StringComparer.OrdinalIgnoreCase);
            var servers = new ServerEndpoint[map.Shards.Count];
            for (int i = 0; i < servers.Length; i++)
            {
                var shard = map.Shards[i];
                var line = new ServerConfig { Host = shard.Host, Port = shard.Port };
                if (!byEndpoint.Remove(line.Endpoint, out var server))
                {
                    server = NewServer(line);
                    WireClusterServer(server);
                    if (config.Preconnect) server.Preconnect();
                }
                servers[i] = server;
            }
            var owners = new short[Rampart.Proxy.Routing.ClusterSlot.Count];
            for (int slot = 0; slot < owners.Length; slot++) owners[slot] = map.ShardIndexOf(slot);
            long version = ++_slotMapVersion;
            _routing = new PoolRouting(servers, owners, version);
            _clusterFingerprint = map.Fingerprint;
            RetireServers(byEndpoint.Values, "is no longer a master in the cluster's slot map");
            string masters = string.Join(", ", servers.Select(s => s.Endpoint));
            LogSlotMap(config.Name, version, servers.Length, map.CoveredSlots, masters);
            Events.Add(config.Name, "slot-map", null, $"slot map {version}: {map.CoveredSlots} slots on {servers.Length} masters ({masters})");
        }
    }

    // The fingerprint of the last full map applied (a MOVED patch clears it, so the next full map is always applied).
    private string? _clusterFingerprint;
    private string? FingerprintOf(PoolRouting routing) => routing.Version == _slotMapVersion ? _clusterFingerprint : null;

    /// <summary>
    /// The pool's server at <paramref name="host"/>:<paramref name="port"/> (a new endpoint if the map does not have it
    /// yet: a node that just became master). With <paramref name="movedSlot"/> (a MOVED), the routing snapshot is
    /// patched to send that slot there at once, and a full check of the map is asked for.
    /// </summary>
    public ServerEndpoint ClusterServerAt(string host, int port, int movedSlot)
    {
        if (movedSlot >= 0) RefreshSlotMap();
        var line = new ServerConfig { Host = host, Port = port };
        var routing = _routing;
        int index = IndexOf(routing, line.Endpoint);
        if (index >= 0 && (movedSlot < 0 || routing.SlotOwners[movedSlot] == index)) return routing.Servers[index];
        lock (_rebuild)
        {
            routing = _routing;
            if (!routing.IsCluster) return index >= 0 ? routing.Servers[index] : NewServer(line); // a reload changed the pool's kind
            index = IndexOf(routing, line.Endpoint);
            var servers = routing.Servers.ToArray();
            if (index < 0)
            {
                var server = NewServer(line);
                WireClusterServer(server);
                servers = [.. servers, server];
                index = servers.Length - 1;
            }
            var owners = routing.SlotOwners.ToArray();
            if (movedSlot >= 0) owners[movedSlot] = (short)index;
            _routing = new PoolRouting(servers, owners, ++_slotMapVersion);
            return servers[index];
        }
    }

    private static int IndexOf(PoolRouting routing, string endpoint)
    {
        for (int i = 0; i < routing.Servers.Count; i++)
            if (string.Equals(routing.Servers[i].Endpoint, endpoint, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    /// <summary>Servers out of the routing: they close once their in-flight requests are answered (or the retire limit).</summary>
    private void RetireServers(IEnumerable<ServerEndpoint> removed, string why)
    {
        long now = Time.NowMs();
        foreach (var server in removed) _retiring.Add((server, now + RetireGraceMs, now + RetireLimitMs, why));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Pool {Pool}: slot map {Version}: {Slots} slots on {Masters} masters ({Endpoints})")]
    private partial void LogSlotMap(string pool, long version, int masters, int slots, string endpoints);
}
