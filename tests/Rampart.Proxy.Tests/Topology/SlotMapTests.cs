using System.Text;
using Rampart.Protocol;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Topology;

namespace Rampart.Proxy.Tests.Topology;

/// <summary>
/// The slot map read from a real three-master Redis Cluster's CLUSTER SLOTS: every slot covered, and every key routed
/// to the node that serves it (that node answers it; another node answers MOVED to it). Malformed replies are refused.
/// </summary>
public class SlotMapTests
{
    private static RespValue Ask(RedisServerProcess node, params string[] command) =>
        RespValue.Parse(Encoding.UTF8.GetBytes(node.Send(RespText.Command(command))));

    [Fact]
    public void FromARealCluster_EveryKeyGoesToTheNodeThatServesIt()
    {
        using var cluster = RedisClusterProcess.Start();
        var map = SlotMap.FromClusterSlots(Ask(cluster.Nodes[1], "CLUSTER", "SLOTS"));

        Assert.Equal(ClusterSlot.Count, map.CoveredSlots);
        Assert.Equal(cluster.Nodes.Select(n => n.Port).Order(), map.Shards.Select(s => s.Port).Order());
        var random = new Random(7);
        for (int i = 0; i < 100; i++)
        {
            string key = i % 3 == 0 ? $"{{tag{random.Next(1000)}}}:k{i}" : $"key:{random.Next()}";
            var shard = map.ShardOf(Encoding.UTF8.GetBytes(key))!;
            var owner = cluster.Nodes.Single(n => n.Port == shard.Port);
            Assert.Equal("$-1\r\n", owner.Send(RespText.Command("GET", key))); // served here, not redirected
            var other = cluster.Nodes.First(n => n.Port != shard.Port);
            Assert.StartsWith($"-MOVED {ClusterSlot.Of(Encoding.UTF8.GetBytes(key))} 127.0.0.1:{shard.Port}", other.Send(RespText.Command("GET", key)));
        }
    }

    [Fact]
    public void ClusterShards_InRespTwoAndThree_GiveTheSameMapAsClusterSlots()
    {
        using var cluster = RedisClusterProcess.Start();
        var node = cluster.Nodes[2];
        var fromSlots = SlotMap.FromClusterSlots(Ask(node, "CLUSTER", "SLOTS"));
        var resp2 = SlotMap.FromClusterShards(Ask(node, "CLUSTER", "SHARDS"), "127.0.0.1");
        using var resp3Client = Resp3Client.ConnectResp3(node.Port);
        resp3Client.Send("CLUSTER", "SHARDS");
        var resp3Reply = RespValue.Parse(resp3Client.ReadFrame());
        Assert.Equal(RespValue.ValueKind.Map, resp3Reply.Items[0].Kind); // RESP3 really: each shard a map
        var resp3 = SlotMap.FromClusterShards(resp3Reply, "127.0.0.1");
        foreach (var map in new[] { resp2, resp3 })
        {
            Assert.Equal(ClusterSlot.Count, map.CoveredSlots);
            for (int slot = 0; slot < ClusterSlot.Count; slot++)
                Assert.Equal(fromSlots.ShardOf(slot)!.Endpoint, map.ShardOf(slot)!.Endpoint);
            Assert.All(map.Shards, s => Assert.Equal(40, s.NodeId!.Length));
        }
    }

    [Fact]
    public void ClusterShards_AShardWithoutAnOnlineMaster_ServesNothing_FailClosed()
    {
        static string Node(string id, string endpoint, int port, string role, string health) =>
            $"*12\r\n$2\r\nid\r\n${id.Length}\r\n{id}\r\n$4\r\nport\r\n:{port}\r\n$2\r\nip\r\n${endpoint.Length}\r\n{endpoint}\r\n"
            + $"$8\r\nendpoint\r\n${endpoint.Length}\r\n{endpoint}\r\n$4\r\nrole\r\n${role.Length}\r\n{role}\r\n$6\r\nhealth\r\n${health.Length}\r\n{health}\r\n";
        string reply = "*2\r\n"
            + "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:99\r\n$5\r\nnodes\r\n*2\r\n"
            + Node("a", "10.0.0.1", 7000, "master", "fail") + Node("b", "10.0.0.2", 7001, "replica", "online")
            + "*4\r\n$5\r\nslots\r\n*2\r\n:100\r\n:199\r\n$5\r\nnodes\r\n*1\r\n"
            + Node("c", "10.0.0.3", 7002, "master", "online");
        var map = SlotMap.FromClusterShards(RespValue.Parse(Encoding.UTF8.GetBytes(reply)), "asked");
        Assert.Null(map.ShardOf(0)); // its master failed: not the replica, not a guess
        Assert.Equal("10.0.0.3:7002", map.ShardOf(150)!.Endpoint);
        Assert.Equal(100, map.CoveredSlots);
    }

    [Fact]
    public void ASlotNoNodeServes_HasNoShard()
    {
        // One range only: slots 0-99 on one master.
        var reply = RespValue.Parse("*1\r\n*3\r\n:0\r\n:99\r\n*3\r\n$9\r\n127.0.0.1\r\n:7000\r\n$2\r\nid\r\n"u8);
        var map = SlotMap.FromClusterSlots(reply);
        Assert.Equal(100, map.CoveredSlots);
        Assert.Equal(7000, map.ShardOf(99)!.Port);
        Assert.Null(map.ShardOf(100));
    }

    [Theory]
    [InlineData("-CLUSTERDOWN The cluster is down\r\n")]
    [InlineData("+OK\r\n")]
    [InlineData("*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n")] // past the last slot
    [InlineData("*2\r\n*3\r\n:0\r\n:10\r\n*2\r\n$1\r\nh\r\n:1\r\n*3\r\n:5\r\n:6\r\n*2\r\n$1\r\ng\r\n:2\r\n")] // 5-6 twice
    [InlineData("*1\r\n*2\r\n:0\r\n:10\r\n")] // no master
    public void MalformedReplies_AreRefused(string reply) =>
        Assert.Throws<FormatException>(() => SlotMap.FromClusterSlots(RespValue.Parse(Encoding.UTF8.GetBytes(reply))));
}
