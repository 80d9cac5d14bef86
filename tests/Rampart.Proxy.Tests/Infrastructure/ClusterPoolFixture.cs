using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster (three masters) and Rampart in front of it with a cluster pool seeded by every node, per test
/// class; a StackExchange.Redis client through Rampart, and reads straight from the master that owns a key's slot (asked
/// of the cluster itself, so a key Rampart put on the wrong node is seen as missing there, never redirected to).
/// </summary>
public sealed class ClusterPoolFixture : IAsyncLifetime, IProxiedPool
{
    public RedisClusterProcess Cluster { get; private set; } = null!;
    public RampartUnderTest Rampart { get; private set; } = null!;
    /// <summary>StackExchange.Redis through Rampart, as a standalone client (see <see cref="Standalone"/>).</summary>
    public ConnectionMultiplexer Client { get; private set; } = null!;

    /// <summary>A cluster pool named <paramref name="name"/> on <paramref name="host"/>, port 0, seeded by <paramref name="cluster"/>'s nodes.</summary>
    public static PoolConfig Pool(RedisClusterProcess cluster, string name = "shop", string host = "127.0.0.1")
    {
        var seeds = cluster.Nodes.Select(n => new ClusterNodeAddress { Host = "127.0.0.1", Port = n.Port }).ToList();
        return new PoolConfig
        {
            Name = name,
            Listen = new ListenAddress { Host = host, Port = 0 },
            Servers = seeds.Select(s => new ServerConfig { Host = s.Host, Port = s.Port }).ToList(),
            Cluster = new ClusterConfig { Nodes = seeds },
        };
    }

    /// <summary>
    /// Options for StackExchange.Redis as a standalone client of <paramref name="endpoint"/>. It takes a server for a
    /// cluster from INFO's <c>redis_mode</c>, HELLO's <c>mode</c> (RESP3) or an answer to CLUSTER NODES, and a cluster
    /// pool says "cluster" in all three (a one-node cluster); with INFO and CLUSTER unavailable in its command map, in
    /// RESP2 it learns none of them and never of slots, so it sends multi-key commands over several slots as they are
    /// (in cluster mode it would refuse them itself) and Rampart alone decides what they do.
    /// </summary>
    public static ConfigurationOptions Standalone(string endpoint)
    {
        var options = ConfigurationOptions.Parse(endpoint);
        options.CommandMap = CommandMap.Create(["CLUSTER", "INFO"], available: false);
        return options;
    }

    public async Task InitializeAsync()
    {
        Cluster = RedisClusterProcess.Start();
        Rampart = await RampartUnderTest.StartAsync(Pool(Cluster));
        // Until a healthy master's map is trusted no slot is served (fail closed): tests start from a served cluster.
        if (!ClusterPoolConfig.WaitForSlotMap(Rampart, "shop")) throw new InvalidOperationException("the cluster pool never trusted a slot map");
        Client = await ConnectionMultiplexer.ConnectAsync(Standalone(Rampart.Endpoint));
    }

    /// <summary>The masters now (ROLE asked of each node).</summary>
    public IReadOnlyList<RedisServerProcess> Servers => Cluster.Masters.Select(m => m.Server).ToList();

    /// <summary>The master serving <paramref name="key"/>'s slot now, from CLUSTER SLOTS asked of the first node.</summary>
    public RedisServerProcess OwnerOf(byte[] key)
    {
        int port = RedisClusterProcess.SlotOwners(Cluster.ClusterNodes[0])[ClusterSlot.Of(key)];
        return Cluster.Nodes.Single(n => n.Port == port);
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (Rampart is not null) await Rampart.DisposeAsync();
        Cluster?.Dispose();
    }
}
