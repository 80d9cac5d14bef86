using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>A cluster pool in front of a <see cref="RedisClusterProcess"/>, seeded with its first nodes.</summary>
public static class ClusterPoolConfig
{
    public static PoolConfig For(RedisClusterProcess cluster, int seeds = 1, string name = "cluster") => new()
    {
        Name = name,
        Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
        Servers = cluster.Nodes.Take(seeds).Select(n => new ServerConfig { Host = "127.0.0.1", Port = n.Port }).ToList(),
        Cluster = new ClusterConfig
        {
            Nodes = cluster.Nodes.Take(seeds).Select(n => new ClusterNodeAddress { Host = "127.0.0.1", Port = n.Port }).ToList(),
            RefreshIntervalMs = 1000,
        },
        PinnedMinIdle = 0,
    };

    /// <summary>Waits until a running cluster pool serves every slot (its first check of the map runs at start).</summary>
    public static bool WaitForSlotMap(RampartUnderTest rampart, string name = "cluster") =>
        Poll.WaitUntil(() => rampart.Server.TakeSnapshot().Pools.Single(p => p.Name == name).Cluster?.ServedSlots == ClusterSlot.Count,
            TimeSpan.FromSeconds(10));
}
