using System.Text;
using Rampart.Protocol;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Commands;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Topology;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// The one-node-cluster replies a cluster pool builds (<see cref="ClusterSelfAnswers"/>), read back the way Rampart
/// reads a real cluster's (<see cref="SlotMap"/>), and compared byte for byte with what a real Redis 7.0 node alone with
/// every slot answered.
/// </summary>
public class ClusterSelfAnswersTests
{
    private static readonly ClusterSelf Self = new("0123456789abcdef0123456789abcdef01234567", "10.1.2.3", 6380, 16384);

    private static byte[] Built(Action<ByteBuffer> write)
    {
        using var output = new ByteBuffer();
        write(output);
        return output.Span.ToArray();
    }

    private static RespValue Parsed(Action<ByteBuffer> write) => RespValue.Parse(Built(write));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClusterSlots_ReadsBackAsOneShardWithEverySlot_AtRampartsAddress(bool resp3)
    {
        var map = SlotMap.FromClusterSlots(Parsed(o => ClusterSelfAnswers.Slots(o, Self, resp3)));
        var shard = Assert.Single(map.Shards);
        Assert.Equal(("10.1.2.3", 6380, Self.NodeId), (shard.Host, shard.Port, shard.NodeId));
        Assert.Empty(shard.Replicas);
        Assert.Equal(16384, map.CoveredSlots);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClusterShards_ReadsBackAsOneShardWithEverySlot_AtRampartsAddress(bool resp3)
    {
        var map = SlotMap.FromClusterShards(Parsed(o => ClusterSelfAnswers.Shards(o, Self, resp3)), askedHost: "not-this-host");
        var shard = Assert.Single(map.Shards);
        Assert.Equal(("10.1.2.3", 6380, Self.NodeId), (shard.Host, shard.Port, shard.NodeId));
        Assert.Equal(16384, map.CoveredSlots);
    }

    [Fact]
    public void ClusterShards_Resp3IsMaps_Resp2IsFlatArrays()
    {
        var resp3 = Parsed(o => ClusterSelfAnswers.Shards(o, Self, resp3: true));
        var resp2 = Parsed(o => ClusterSelfAnswers.Shards(o, Self, resp3: false));
        Assert.Equal(RespValue.ValueKind.Map, resp3.Items[0].Kind);
        Assert.Equal(RespValue.ValueKind.Map, resp3.Items[0].Items[3].Items[0].Kind);
        Assert.Equal(RespValue.ValueKind.Array, resp2.Items[0].Kind);
        Assert.Equal(["id", "port", "ip", "endpoint", "role", "replication-offset", "health"],
            resp2.Items[0].Items[3].Items[0].Items.Where((_, i) => i % 2 == 0).Select(f => f.Text));
    }

    // What redis-server 7.0.15 answered, alone with every slot (CLUSTER ADDSLOTSRANGE 0 16383, before any MEET, so
    // with no ip of its own) on port 48421: Rampart's reply for the same facts must be the same bytes.
    private const string RealId = "2022b89aefb2dc7f2201af90d0cecfaf31d47af0";
    private static readonly ClusterSelf LikeTheRealNode = new(RealId, "", 48421, 16384);

    [Theory]
    [InlineData(false, "*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$0\r\n\r\n:48421\r\n$40\r\n" + RealId + "\r\n*0\r\n")]
    [InlineData(true, "*1\r\n*3\r\n:0\r\n:16383\r\n*4\r\n$0\r\n\r\n:48421\r\n$40\r\n" + RealId + "\r\n%0\r\n")]
    public void ClusterSlots_IsByteForByteWhatRedisSends(bool resp3, string redis) =>
        Assert.Equal(redis, Encoding.UTF8.GetString(Built(o => ClusterSelfAnswers.Slots(o, LikeTheRealNode, resp3))));

    [Theory]
    [InlineData(false, "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n*14\r\n")]
    [InlineData(true, "*1\r\n%2\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n%7\r\n")]
    public void ClusterShards_IsByteForByteWhatRedisSends(bool resp3, string head)
    {
        string node = "$2\r\nid\r\n$40\r\n" + RealId + "\r\n$4\r\nport\r\n:48421\r\n$2\r\nip\r\n$0\r\n\r\n$8\r\nendpoint\r\n$0\r\n\r\n"
            + "$4\r\nrole\r\n$6\r\nmaster\r\n$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";
        Assert.Equal(head + node, Encoding.UTF8.GetString(Built(o => ClusterSelfAnswers.Shards(o, LikeTheRealNode, resp3))));
    }

    [Fact]
    public void ClusterNodes_IsOneLineWithBusPort()
    {
        Assert.Equal($"{Self.NodeId} 10.1.2.3:6380@16380 myself,master - 0 0 1 connected 0-16383\n", ClusterSelfAnswers.NodesLine(Self));
        // IPv6 bare, as Redis prints it: clients split the address at its last colon.
        Assert.Equal($"{Self.NodeId} ::1:7000@17000 myself,master - 0 0 1 connected 0-16383\n",
            ClusterSelfAnswers.NodesLine(Self with { Ip = "::1", Port = 7000 }));
    }

    [Theory]
    [InlineData(55535, 65535)]
    [InlineData(55536, 0)]
    [InlineData(0, 10000)]
    public void BusPort_IsPortPlus10000_OrZeroWhenThatIsNoPort(int port, int bus) =>
        Assert.Equal(bus, (Self with { Port = port }).BusPort);

    [Fact]
    public void ClusterNodes_HasRedisFieldCount_AndIsVerbatimInResp3()
    {
        // Redis 7.0: id addr flags master ping-sent pong-recv config-epoch link-state, then the slot ranges.
        Assert.Equal(9, ClusterSelfAnswers.NodesLine(Self).TrimEnd('\n').Split(' ').Length);
        var verbatim = Parsed(o => RespWriter.Text(o, ClusterSelfAnswers.NodesLine(Self), resp3: true));
        Assert.Equal((RespValue.ValueKind.Verbatim, "txt"), (verbatim.Kind, verbatim.Format));
    }

    [Fact]
    public void ClusterInfo_AllServed_IsOk()
    {
        string info = ClusterSelfAnswers.Info(Self);
        Assert.StartsWith("cluster_state:ok\r\ncluster_slots_assigned:16384\r\ncluster_slots_ok:16384\r\ncluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\ncluster_size:1\r\n", info);
        Assert.EndsWith("total_cluster_links_buffer_limit_exceeded:0\r\n", info);
    }

    [Fact]
    public void ClusterInfo_SlotsRampartCannotServe_AreFailedAndTheStateIsFail()
    {
        var fields = ClusterSelfAnswers.Info(Self with { ServedSlots = 16000 }).Split("\r\n", StringSplitOptions.RemoveEmptyEntries)
            .ToDictionary(l => l[..l.IndexOf(':')], l => l[(l.IndexOf(':') + 1)..]);
        Assert.Equal(("fail", "16384", "16000", "384"),
            (fields["cluster_state"], fields["cluster_slots_assigned"], fields["cluster_slots_ok"], fields["cluster_slots_fail"]));
    }

    [Theory]
    [InlineData("127.0.0.1:6380", "127.0.0.1", 6380)]
    [InlineData("[::1]:6380", "::1", 6380)]
    [InlineData("[::ffff:10.0.0.7]:6380", "10.0.0.7", 6380)] // an IPv4 client of a dual-stack listener
    [InlineData("/tmp/rampart.sock:0", "", 0)]
    public void Self_IsTheAddressTheClientReached(string localEndPoint, string ip, int port)
    {
        var self = ClusterSelf.Of("shop", localEndPoint, 16384);
        Assert.Equal((ip, port), (self.Ip, self.Port));
        Assert.Equal(ClusterSelfAnswers.NodeIdFor("shop", ip, port), self.NodeId);
    }

    [Fact]
    public void NodeId_Is40LowercaseHex_StablePerPoolAndAddress()
    {
        string id = ClusterSelfAnswers.NodeIdFor("shop", "127.0.0.1", 6380);
        Assert.Matches("^[0-9a-f]{40}$", id);
        Assert.Equal(id, ClusterSelfAnswers.NodeIdFor("shop", "127.0.0.1", 6380));
        Assert.NotEqual(id, ClusterSelfAnswers.NodeIdFor("cart", "127.0.0.1", 6380));
        Assert.NotEqual(id, ClusterSelfAnswers.NodeIdFor("shop", "127.0.0.2", 6380));
        Assert.NotEqual(id, ClusterSelfAnswers.NodeIdFor("shop", "127.0.0.1", 6381));
    }

    private static readonly string[] SelfAnswered =
        ["cluster|slots", "cluster|shards", "cluster|nodes", "cluster|info", "cluster|myid", "cluster|keyslot", "readonly", "readwrite"];

    private static PoolConfig PoolWith(string yamlTail) => Configuration.ConfigAssert.SinglePool(
        "shop:\n  listen: 127.0.0.1:6380\n  redis: true\n" + yamlTail);

    [Fact]
    public void ClusterPoolPolicy_AnswersIntrospectionItself_OthersKeepTheirs()
    {
        var cluster = CommandPolicy.For(PoolWith("  cluster:\n    nodes: [127.0.0.1:7000]\n"));
        var plain = CommandPolicy.For(PoolWith("  servers:\n    - 127.0.0.1:6379:1\n"));
        Assert.Same(CommandPolicy.Default, plain);
        foreach (var name in SelfAnswered)
        {
            var command = CommandTable.All.SelectMany(c => c.Subcommands.Prepend(c)).Single(c => c.Name == name);
            Assert.Equal(CommandHandling.Local, cluster.HandlingOf(command));
            Assert.Equal(command.Handling, plain.HandlingOf(command));
        }
        // Not the data-dependent ones: the routing engine sends them to the slot's node.
        var countKeys = CommandTable.All.Single(c => c.Name == "cluster").Subcommands.Single(c => c.Name == "cluster|countkeysinslot");
        Assert.Equal(CommandHandling.Forward, cluster.HandlingOf(countKeys));
    }

    [Fact]
    public void ClusterPoolPolicy_DenyStillWins()
    {
        var policy = CommandPolicy.For(PoolWith("  cluster:\n    nodes: [127.0.0.1:7000]\n  commands:\n    deny: [\"CLUSTER|NODES\"]\n"));
        var nodes = CommandTable.All.Single(c => c.Name == "cluster").Subcommands.Single(c => c.Name == "cluster|nodes");
        Assert.Equal(CommandHandling.Unsupported, policy.HandlingOf(nodes));
    }
}
