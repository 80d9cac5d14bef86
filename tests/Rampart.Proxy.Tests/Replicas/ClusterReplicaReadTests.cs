using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Replicas;

/// <summary>
/// <c>read_from: replica</c> on a Redis Cluster pool (3 masters, a replica each, made by redis-cli --cluster create):
/// reads run on the replica of their slot's master (READONLY on its connections, or it would answer MOVED), at least
/// 99% of them by each node's own INFO commandstats, and every write on the masters.
/// </summary>
public sealed class ClusterReplicaReadTests
{
    [Fact]
    public async Task Reads_RunOnTheSlotsReplicas_AndWritesOnTheMasters()
    {
        using var cluster = RedisClusterProcess.StartWithReplicas(masters: 3, replicasPerMaster: 1);
        await using var rampart = await RampartUnderTest.StartAsync(ClusterPoolConfig.For(cluster) with { ReadFrom = ReadFrom.Replica });
        Assert.True(ClusterPoolConfig.WaitForSlotMap(rampart));
        var pool = rampart.Server.GetPool("cluster");
        await WaitUntilAsync(() => pool.Routing.Servers.Count == 3 && pool.Routing.Servers.All(m => m.ReadReplicas.Eligible.Length == 1), TimeSpan.FromSeconds(20));

        using var writer = RespTestClient.ConnectTcp(rampart.Port);
        for (int i = 0; i < 300; i++) Assert.Equal("OK", writer.Ask("SET", $"cr:{i}", $"v{i}"));
        ReplicatedRedis.WaitUntilReplicated(cluster.Replicas.Select(r => r.Server), cluster.Masters.Select(m => m.Server));
        foreach (var node in cluster.Nodes) ReplicatedRedis.ResetStats(node);

        using var reader = RespTestClient.ConnectTcp(rampart.Port);
        for (int i = 0; i < 1200; i++) Assert.Equal($"v{i % 300}", reader.Ask("GET", $"cr:{i % 300}"));
        for (int i = 0; i < 30; i++) Assert.Equal("OK", writer.Ask("SET", $"cr:w:{i}", "x"));

        long onReplicas = cluster.Replicas.Sum(r => ReplicatedRedis.Calls(r.Server, "get"));
        long onMasters = cluster.Masters.Sum(m => ReplicatedRedis.Calls(m.Server, "get"));
        Assert.True(onReplicas >= 1188, $"GETs on replicas {onReplicas}, on masters {onMasters}");
        Assert.All(cluster.Replicas, r => Assert.True(ReplicatedRedis.Calls(r.Server, "get") > 0, $"replica {r.Endpoint} served no read"));
        Assert.Equal(30, cluster.Masters.Sum(m => ReplicatedRedis.Calls(m.Server, "set")));
        Assert.Equal(0, pool.Routing.Servers.Sum(s => s.Stats.Moved)); // READONLY: no replica redirected a read
    }
}
