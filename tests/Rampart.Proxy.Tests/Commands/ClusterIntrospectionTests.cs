using System.Net;
using Rampart.Protocol;
using Rampart.Proxy.Commands;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Topology;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// A cluster pool in front of a real Redis Cluster answers cluster introspection as one node owning every slot at
/// Rampart's own address, in RESP2 and RESP3, so cluster-aware clients (redis-cli -c, StackExchange.Redis) never learn
/// of the nodes behind it. Data commands are not asserted here: routing by slot is the cluster engine's.
/// </summary>
public sealed class ClusterIntrospectionTests(ClusterPoolFixture fixture) : IClassFixture<ClusterPoolFixture>
{
    private int Port => fixture.Rampart.Port;
    private string ExpectedId => ClusterSelfAnswers.NodeIdFor("shop", "127.0.0.1", Port);
    private int BusPort => ClusterSelf.Of("shop", $"127.0.0.1:{Port}", 16384).BusPort;

    /// <summary>One command on a fresh connection, in RESP2 or (after HELLO 3) RESP3, parsed whole.</summary>
    private static RespValue Ask(int port, bool resp3, params string[] args)
    {
        using var client = resp3 ? Resp3Client.ConnectResp3(port) : Resp3Client.Connect(port);
        client.Send(args);
        return RespValue.Parse(client.ReadFrame());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClusterSlots_OneRangeWithEverySlot_AtRampart(bool resp3)
    {
        var map = SlotMap.FromClusterSlots(Ask(Port, resp3, "CLUSTER", "SLOTS"));
        var shard = Assert.Single(map.Shards);
        Assert.Equal(("127.0.0.1", Port, ExpectedId), (shard.Host, shard.Port, shard.NodeId));
        Assert.Equal(16384, map.CoveredSlots);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClusterShards_OneShardWithEverySlot_AtRampart(bool resp3)
    {
        var reply = Ask(Port, resp3, "CLUSTER", "SHARDS");
        Assert.Equal(resp3 ? RespValue.ValueKind.Map : RespValue.ValueKind.Array, reply.Items[0].Kind);
        var shard = Assert.Single(SlotMap.FromClusterShards(reply, askedHost: "unused").Shards);
        Assert.Equal(("127.0.0.1", Port, ExpectedId), (shard.Host, shard.Port, shard.NodeId));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClusterShards_HasTheFieldsARealNodeSends(bool resp3)
    {
        static string[] NodeFields(RespValue shards) => shards.Items[0].Items[3].Items[0].Items.Where((_, i) => i % 2 == 0).Select(f => f.Text!).ToArray();
        var real = Ask(fixture.Cluster.Nodes[0].Port, resp3, "CLUSTER", "SHARDS");
        var ours = Ask(Port, resp3, "CLUSTER", "SHARDS");
        Assert.Equal(NodeFields(real), NodeFields(ours));
        Assert.Equal(real.Items[0].Kind, ours.Items[0].Kind);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClusterNodes_OneLine_MyselfMasterWithEverySlot(bool resp3)
    {
        var reply = Ask(Port, resp3, "CLUSTER", "NODES");
        Assert.Equal(resp3 ? RespValue.ValueKind.Verbatim : RespValue.ValueKind.Bulk, reply.Kind);
        Assert.Equal($"{ExpectedId} 127.0.0.1:{Port}@{BusPort} myself,master - 0 0 1 connected 0-16383\n", reply.Text);
        // The same reply type and layout as a real node's line for itself (its slots and epochs differ).
        var real = Ask(fixture.Cluster.Nodes[0].Port, resp3, "CLUSTER", "NODES");
        Assert.Equal(real.Kind, reply.Kind);
        string realSelf = real.Text!.Split('\n').Single(l => l.Contains("myself"));
        Assert.Matches(@"^[0-9a-f]{40} 127\.0\.0\.1:\d+@\d+ myself,master - \d+ \d+ \d+ connected( \d+(-\d+)?)+$", realSelf);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClusterInfo_HasARealNodesFieldsInItsOrder_StateOk(bool resp3)
    {
        static string[] Lines(RespValue info) => info.Text!.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var ours = Ask(Port, resp3, "CLUSTER", "INFO");
        var real = Ask(fixture.Cluster.Nodes[0].Port, resp3, "CLUSTER", "INFO");
        Assert.Equal(real.Kind, ours.Kind);
        // A node prints a line per kind of bus message it has sent or received (cluster_stats_messages_ping_sent, ...)
        // once it has any; Rampart has no cluster bus, so it prints what a node that has exchanged none prints.
        static bool PerKindStats(string field) => System.Text.RegularExpressions.Regex.IsMatch(field, "^cluster_stats_messages_[a-z-]+_(sent|received)$");
        Assert.Equal(Lines(real).Select(l => l[..l.IndexOf(':')]).Where(f => !PerKindStats(f)), Lines(ours).Select(l => l[..l.IndexOf(':')]));
        Assert.Equal(["cluster_state:ok", "cluster_slots_assigned:16384", "cluster_slots_ok:16384"], Lines(ours).Take(3));
        Assert.Contains("cluster_known_nodes:1", Lines(ours));
        Assert.Contains("cluster_size:1", Lines(ours));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ClusterMyId_IsTheIdOfSlotsAndNodes(bool resp3)
    {
        Assert.Equal(ExpectedId, Ask(Port, resp3, "CLUSTER", "MYID").Text);
        Assert.StartsWith(ExpectedId + " ", Ask(Port, resp3, "CLUSTER", "NODES").Text);
    }

    [Theory]
    [InlineData("foo")]
    [InlineData("{user1}.following")]
    [InlineData("user1")]
    [InlineData("{}x")]
    [InlineData("a{b")]
    public void ClusterKeySlot_IsTheRealClustersSlot(string key)
    {
        using var viaRampart = RespTestClient.ConnectTcp(Port);
        using var direct = RespTestClient.ConnectTcp(fixture.Cluster.Nodes[0].Port);
        Assert.Equal(direct.Call("CLUSTER", "KEYSLOT", key), viaRampart.Call("CLUSTER", "KEYSLOT", key));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadOnlyAndReadWrite_AreOk(bool resp3)
    {
        using var client = resp3 ? Resp3Client.ConnectResp3(Port) : Resp3Client.Connect(Port);
        Assert.Equal("+OK\r\n", client.Call("READONLY"));
        Assert.Equal("+OK\r\n", client.Call("READWRITE"));
    }

    [Fact]
    public void WrongArity_IsRedissError()
    {
        using var client = RespTestClient.ConnectTcp(Port);
        Assert.Equal(new RespError("ERR wrong number of arguments for 'cluster|myid' command"), client.Call("CLUSTER", "MYID", "x"));
        Assert.Equal(new RespError("ERR wrong number of arguments for 'readonly' command"), client.Call("READONLY", "x"));
    }

    [Fact]
    public void Hello_SaysClusterMode()
    {
        using var client = RespTestClient.ConnectTcp(Port);
        var hello = (object?[])client.CallText("HELLO", "2")!;
        Assert.Equal("cluster", hello[Array.IndexOf(hello, "mode") + 1]);
    }

    [Fact]
    public async Task RedisCli_ClusterSlotsAndNodes_NameOnlyRampart()
    {
        var slots = await ExternalProgram.RunAsync("redis-cli", ["-c", "-h", "127.0.0.1", "-p", Port.ToString(), "CLUSTER", "SLOTS"]);
        Assert.Equal(0, slots.ExitCode);
        Assert.Equal(["0", "16383", "127.0.0.1", Port.ToString(), ExpectedId], slots.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var nodes = await ExternalProgram.RunAsync("redis-cli", ["-c", "-h", "127.0.0.1", "-p", Port.ToString(), "CLUSTER", "NODES"]);
        Assert.Equal($"{ExpectedId} 127.0.0.1:{Port}@{BusPort} myself,master - 0 0 1 connected 0-16383\n", nodes.Stdout);
    }

    [Fact]
    public async Task RedisCliClusterCheck_SeesOneMasterCoveringEverySlot()
    {
        // redis-cli's own cluster client: it loads the topology from CLUSTER NODES and checks slot coverage.
        var check = await ExternalProgram.RunAsync("redis-cli", ["--cluster", "check", $"127.0.0.1:{Port}"]);
        Assert.True(check.ExitCode == 0, check.ToString());
        Assert.Contains($"127.0.0.1:{Port} ", check.Stdout);
        Assert.Contains("[OK] All 16384 slots covered.", check.Stdout);
        foreach (var node in fixture.Cluster.Nodes) Assert.DoesNotContain($":{node.Port}", check.Stdout);
    }

    [Theory]
    [InlineData(RedisProtocol.Resp2)]
    [InlineData(RedisProtocol.Resp3)]
    public async Task StackExchangeRedisInClusterMode_KnowsOnlyRampart(RedisProtocol protocol)
    {
        var options = new ConfigurationOptions { EndPoints = { { "127.0.0.1", Port } }, Protocol = protocol, AbortOnConnectFail = true };
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options);
        var rampart = new IPEndPoint(IPAddress.Loopback, Port);
        Assert.Equal([rampart], mux.GetEndPoints().Cast<IPEndPoint>());
        var server = mux.GetServer(rampart);
        Assert.Equal(ServerType.Cluster, server.ServerType);
        var cluster = server.ClusterConfiguration!;
        var node = Assert.Single(cluster.Nodes);
        Assert.Equal(rampart, node.EndPoint);
        Assert.Equal(ExpectedId, node.NodeId);
        Assert.Equal(rampart, cluster.GetBySlot(0)!.EndPoint);
        Assert.Equal(rampart, cluster.GetBySlot(16383)!.EndPoint);
        Assert.Equal(rampart, cluster.GetBySlot("any-key")!.EndPoint);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Info_SaysClusterMode_AndClusterEnabled_AsItsClusterAnswersDo(bool resp3)
    {
        static Dictionary<string, string> Fields(RespValue info) => info.Text!.Split("\r\n")
            .Where(l => l.Contains(':') && !l.StartsWith('#')).Select(l => l.Split(':', 2)).ToDictionary(f => f[0], f => f[1]);
        var all = Fields(Ask(Port, resp3, "INFO"));
        Assert.Equal("cluster", all["redis_mode"]);
        Assert.Equal("1", all["cluster_enabled"]);
        // The sections asked one by one (as StackExchange.Redis and ioredis ask them) say the same.
        Assert.Equal("cluster", Fields(Ask(Port, resp3, "INFO", "server"))["redis_mode"]);
        Assert.Equal("1", Fields(Ask(Port, resp3, "INFO", "cluster"))["cluster_enabled"]);
        Assert.Equal("ok", Fields(Ask(Port, resp3, "CLUSTER", "INFO"))["cluster_state"]);
    }

    [Fact]
    public async Task StackExchangeRedisAsAPlainClient_InResp2_SendsCrossSlotCommandsThrough()
    {
        // INFO and CLUSTER unavailable in its command map: it never hears "cluster", so it does not refuse keys over
        // several slots itself, and Rampart splits them.
        await using var mux = await ConnectionMultiplexer.ConnectAsync(ClusterPoolFixture.Standalone(fixture.Rampart.Endpoint));
        Assert.Equal(ServerType.Standalone, mux.GetServer(fixture.Rampart.Endpoint).ServerType);
        var db = mux.GetDatabase();
        RedisKey[] keys = Enumerable.Range(0, 8).Select(i => (RedisKey)("plain:" + i)).ToArray();
        Assert.True(keys.Select(k => ClusterSlot.Of(System.Text.Encoding.UTF8.GetBytes(k.ToString()))).Distinct().Count() > 1);
        Assert.True(await db.StringSetAsync(keys.Select(k => new KeyValuePair<RedisKey, RedisValue>(k, "v" + k.ToString())).ToArray()));
        Assert.Equal(keys.Select(k => (string?)("v" + k.ToString())), (await db.StringGetAsync(keys)).Select(v => (string?)v));
        Assert.Equal(keys.Length, await db.KeyDeleteAsync(keys));
    }

    [Fact]
    public async Task StackExchangeRedisInResp3_IsAlwaysInClusterMode_AsHellosModeSays()
    {
        // HELLO's mode decides in RESP3 (a command map cannot take HELLO away there): the client refuses keys over
        // several slots itself, exactly as in front of a real cluster.
        var options = ClusterPoolFixture.Standalone(fixture.Rampart.Endpoint);
        options.Protocol = RedisProtocol.Resp3;
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options);
        Assert.Equal(ServerType.Cluster, mux.GetServer(fixture.Rampart.Endpoint).ServerType);
        await Assert.ThrowsAsync<RedisCommandException>(() => mux.GetDatabase().StringGetAsync(["plain:0", "plain:1", "plain:2"]));
    }

    [Fact]
    public async Task OnIPv6_TheNodeIsTheBareV6Address()
    {
        await using var v6 = await RampartUnderTest.StartAsync(ClusterPoolFixture.Pool(fixture.Cluster, "shop6", "::1"));
        string id = ClusterSelfAnswers.NodeIdFor("shop6", "::1", v6.Port);
        var slots = await ExternalProgram.RunAsync("redis-cli", ["-h", "::1", "-p", v6.Port.ToString(), "CLUSTER", "SLOTS"]);
        Assert.Equal(["0", "16383", "::1", v6.Port.ToString(), id], slots.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var nodes = await ExternalProgram.RunAsync("redis-cli", ["-h", "::1", "-p", v6.Port.ToString(), "CLUSTER", "NODES"]);
        Assert.Equal($"{id} ::1:{v6.Port}@{ClusterSelf.Of("shop6", $"[::1]:{v6.Port}", 16384).BusPort} myself,master - 0 0 1 connected 0-16383\n", nodes.Stdout);
    }
}
