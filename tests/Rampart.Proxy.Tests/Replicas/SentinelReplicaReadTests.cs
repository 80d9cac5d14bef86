using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Replicas;

/// <summary>
/// <c>read_from: replica</c> on a Sentinel pool of one master and two replicas (real redis-servers and sentinels):
/// the replicas are learned from the master, at least 99% of GETs run on them (each node's INFO commandstats), every
/// write runs on the master, and after a failover the reads follow the new master's replicas.
/// </summary>
public sealed class SentinelReplicaReadTests
{
    [Fact]
    public async Task Reads_RunOnTheMastersReplicas_AndFollowAFailover()
    {
        await using var topology = await SentinelTopology.StartAsync();
        var config = SentinelPoolConfig.For(topology) with { Name = "rw", ReadFrom = ReadFrom.Replica };
        await using var rampart = await RampartUnderTest.StartAsync(config);
        var master = rampart.Server.GetPool("rw").Routing.Default;
        await WaitUntilAsync(() => master.ReadReplicas.Eligible.Length == 2, TimeSpan.FromSeconds(20));

        int masterPort = topology.CurrentMasterPort();
        using (var direct = RespTestClient.ConnectTcp(masterPort))
        {
            for (int i = 0; i < 100; i++) direct.Ask("SET", $"sr:{i}", $"v{i}");
            Assert.Equal("2", direct.Ask("WAIT", "2", "5000"));
        }
        foreach (var node in topology.Nodes) ReplicatedRedis.ResetStats(node);

        using var reader = RespTestClient.ConnectTcp(rampart.Port);
        using var writer = RespTestClient.ConnectTcp(rampart.Port);
        for (int i = 0; i < 1000; i++) Assert.Equal($"v{i % 100}", reader.Ask("GET", $"sr:{i % 100}"));
        for (int i = 0; i < 50; i++) Assert.Equal("OK", writer.Ask("SET", $"sr:w:{i}", "x"));

        var masterNode = topology.Node(topology.NodeIndexOf(masterPort));
        var replicaNodes = topology.Nodes.Where(n => n.Port != masterPort).ToArray();
        long onReplicas = replicaNodes.Sum(n => ReplicatedRedis.Calls(n, "get"));
        Assert.True(onReplicas >= 990, $"GETs on replicas {onReplicas}, on the master {ReplicatedRedis.Calls(masterNode, "get")}");
        Assert.Equal(50, ReplicatedRedis.Calls(masterNode, "set"));

        topology.TriggerFailover();
        int newMaster = await topology.WaitForMasterChangeAsync(masterPort, TimeSpan.FromSeconds(30));
        // The new master's replicas are the two other nodes, the old master among them once it has re-linked.
        var expected = topology.NodePorts.Where(p => p != newMaster).Order().ToArray();
        await WaitUntilAsync(() => master.Address is System.Net.IPEndPoint { Port: var p } && p == newMaster
            && master.ReadReplicas.Eligible.Select(r => r.Endpoint.Config.Port).Order().SequenceEqual(expected), TimeSpan.FromSeconds(30));
        Assert.Equal("OK", writer.Ask("SET", "sr:after", "y"));
        ReplicatedRedis.WaitUntilReplicated(topology.Nodes.Where(n => n.Port != newMaster), topology.Nodes.Where(n => n.Port == newMaster));
        Assert.Equal("y", reader.Ask("GET", "sr:after"));
    }
}
