using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>A real Redis Cluster and Rampart in front of it with a cluster pool seeded by every node, per test class.</summary>
public sealed class ClusterPoolFixture : IAsyncLifetime
{
    public RedisClusterProcess Cluster { get; private set; } = null!;
    public RampartUnderTest Rampart { get; private set; } = null!;

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

    public async Task InitializeAsync()
    {
        Cluster = RedisClusterProcess.Start();
        Rampart = await RampartUnderTest.StartAsync(Pool(Cluster));
        // Until a healthy master's map is trusted no slot is served (fail closed): tests start from a served cluster.
        if (!ClusterPoolConfig.WaitForSlotMap(Rampart, "shop")) throw new InvalidOperationException("the cluster pool never trusted a slot map");
    }

    public async Task DisposeAsync()
    {
        if (Rampart is not null) await Rampart.DisposeAsync();
        Cluster?.Dispose();
    }
}
