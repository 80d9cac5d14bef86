using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pools;

/// <summary>
/// A cluster pool in front of a real three-master Redis Cluster: keys go to the node serving their slot, multi-key
/// commands split by slot, cross-slot commands get Redis's CROSSSLOT, and MOVED and ASK replies are followed so the
/// client sees only its values, in its order.
/// </summary>
public sealed class ClusterPoolTests : IDisposable
{
    private readonly RedisClusterProcess _cluster = RedisClusterProcess.Start();

    public void Dispose() => _cluster.Dispose();

    /// <summary>Waits until the pool has a slot map (its first check runs at start).</summary>
    internal static async Task<RampartUnderTest> StartReadyAsync(RedisClusterProcess cluster, int seeds = 1)
    {
        var rampart = await RampartUnderTest.StartAsync(ClusterPoolConfig.For(cluster, seeds));
        Assert.True(ClusterPoolConfig.WaitForSlotMap(rampart), "no slot map within 10 s");
        return rampart;
    }

    private RedisServerProcess OwnerOf(string key) => ClusterSlots.OwnerOf(_cluster, key);

    [Fact]
    public async Task KeysLandOnTheNodeServingTheirSlot_FromOneSeed()
    {
        await using var rampart = await StartReadyAsync(_cluster);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        for (int i = 0; i < 300; i++) Assert.Equal("OK", client.CallText("SET", $"key:{i}", $"value-{i}"));
        for (int i = 0; i < 300; i++)
        {
            Assert.Equal($"value-{i}", client.CallText("GET", $"key:{i}"));
            // The node serving the slot has it (a GET there is answered, not redirected).
            Assert.Equal(Bulk($"value-{i}"), OwnerOf($"key:{i}").Send(RespText.Command("GET", $"key:{i}")));
        }
        long total = _cluster.Nodes.Sum(n => long.Parse(n.Send(RespText.Command("DBSIZE")).Trim()[1..]));
        Assert.Equal(300, total);
        Assert.All(_cluster.Nodes, n => Assert.NotEqual(":0\r\n", n.Send(RespText.Command("DBSIZE"))));
    }

    [Fact]
    public async Task SelectMoveAndSwapdb_AreAnsweredAsAClusterNodeAnswersThem()
    {
        await using var rampart = await StartReadyAsync(_cluster);
        // SELECT in cluster mode: only database 0, "not allowed" before the range check, the integer check first.
        foreach (var index in new[] { "0", "1", "15", "-1", "abc" })
        {
            string raw = RespText.Command("SELECT", index);
            Assert.Equal(_cluster.Nodes[0].Send(raw), RedisProgram.ExchangeOnce(rampart.Port, raw));
        }
        // MOVE (at the key's owner) and SWAPDB: refused by a cluster node in its own words.
        string move = RespText.Command("MOVE", "some-key", "1"), swap = RespText.Command("SWAPDB", "0", "1");
        Assert.Equal(OwnerOf("some-key").Send(move), RedisProgram.ExchangeOnce(rampart.Port, move));
        Assert.Equal(_cluster.Nodes[0].Send(swap), RedisProgram.ExchangeOnce(rampart.Port, swap));
    }

    [Fact]
    public async Task MultiKeyCommandsSplitBySlot_OthersAcrossSlotsGetCrossSlot()
    {
        await using var rampart = await StartReadyAsync(_cluster);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        var keys = Enumerable.Range(0, 40).Select(i => $"m:{i}").ToArray();
        Assert.Equal("OK", client.CallText(["MSET", .. keys.SelectMany(k => new[] { k, "v" + k })]));
        var values = (object?[])client.CallText(["MGET", .. keys, "missing"])!;
        Assert.Equal([.. keys.Select(k => (object?)("v" + k)), null], values);
        Assert.Equal(40L, client.Call(["EXISTS", .. keys]));
        Assert.Equal(20L, client.Call(["DEL", .. keys.Take(20)]));
        Assert.Equal(20L, client.Call(["UNLINK", .. keys.Skip(20)]));

        // Redis's own rule: other multi-key commands need one slot, even for keys on one node.
        var (a, b) = TwoSlotsOnOneNode();
        Assert.Equal(new RespError("CROSSSLOT Keys in request don't hash to the same slot"), client.Call("SUNIONSTORE", "dest", a, b));
        Assert.Equal(new RespError("CROSSSLOT Keys in request don't hash to the same slot"), client.Call("RENAME", a, b));
        Assert.Equal(1L, client.Call("SADD", "{t}a", "member"));
        Assert.Equal(1L, client.Call("SUNIONSTORE", "{t}dest", "{t}a", "{t}b"));
    }

    [Fact]
    public async Task CountAndGetKeysInSlot_AskTheMasterServingTheSlot()
    {
        await using var rampart = await StartReadyAsync(_cluster);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        foreach (int slot in new[] { 0, 8000, 16383 }) // one per master
        {
            var keys = Enumerable.Range(0, 3).Select(i => ClusterSlots.KeyInSlot(slot, $"in-slot:{i}")).ToArray();
            foreach (var key in keys) Assert.Equal("OK", client.CallText("SET", key, "v"));
            Assert.Equal(3L, client.Call("CLUSTER", "COUNTKEYSINSLOT", slot.ToString()));
            Assert.Equal(keys.Order(), ((object?[])client.CallText("CLUSTER", "GETKEYSINSLOT", slot.ToString(), "10")!).Cast<string>().Order());
        }
        // Not a slot: Redis's own errors, from a master.
        Assert.Equal(new RespError("ERR Invalid slot"), client.Call("CLUSTER", "COUNTKEYSINSLOT", "16384"));
        Assert.Equal(new RespError("ERR value is not an integer or out of range"), client.Call("CLUSTER", "GETKEYSINSLOT", "x", "10"));
    }

    private (string, string) TwoSlotsOnOneNode()
    {
        var bytes = Encoding.UTF8;
        for (int i = 0; ; i++)
            for (int j = i + 1; j < i + 50; j++)
            {
                string a = $"x{i}", b = $"x{j}";
                if (ClusterSlot.Of(bytes.GetBytes(a)) != ClusterSlot.Of(bytes.GetBytes(b)) && OwnerOf(a).Port == OwnerOf(b).Port) return (a, b);
            }
    }

    [Fact]
    public async Task ASlotMovedBehindRampartsBack_IsFollowedByMoved()
    {
        await using var rampart = await StartReadyAsync(_cluster);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        const string key = "moving";
        Assert.Equal("OK", client.CallText("SET", key, "before"));
        var source = OwnerOf(key);
        var target = _cluster.Nodes.First(n => n.Port != source.Port);
        ClusterSlots.Migrate(_cluster, ClusterSlot.Of(Encoding.UTF8.GetBytes(key)), source, target);

        // Rampart's map still names the source: it answers MOVED, which Rampart follows at once.
        Assert.Equal("before", client.CallText("GET", key));
        Assert.Equal("OK", client.CallText("SET", key, "after"));
        Assert.StartsWith("$5\r\nafter", target.Send(RespText.Command("GET", key)));
        var pool = rampart.Server.Pools.Single();
        Assert.True(pool.Routing.Servers.Sum(s => s.Stats.Moved) >= 1, "the MOVED was followed, not avoided");
    }

    [Fact]
    public async Task AKeyAlreadyMigrated_IsFollowedByAsk_AndTheMapStays()
    {
        await using var rampart = await StartReadyAsync(_cluster);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        const string key = "asked";
        Assert.Equal("OK", client.CallText("SET", key, "value"));
        var source = OwnerOf(key);
        var target = _cluster.Nodes.First(n => n.Port != source.Port);
        int slot = ClusterSlot.Of(Encoding.UTF8.GetBytes(key));
        ClusterSlots.BeginMigration(slot, source, target);
        try
        {
            ClusterSlots.MigrateKeys(slot, source, target);
            // The source no longer has the key: it answers ASK; Rampart sends ASKING + GET to the target.
            Assert.Equal("value", client.CallText("GET", key));
            // A new key of the same slot is created on the target through ASK too.
            string sibling = ClusterSlots.KeyInSlot(slot, "sibling");
            Assert.Equal("OK", client.CallText("SET", sibling, "new"));
            Assert.Equal(Bulk("new"), RedisAsking(target, sibling));
            var pool = rampart.Server.Pools.Single();
            Assert.True(pool.Routing.Servers.Sum(s => s.Stats.Asked) >= 2);
            Assert.Equal(source.Port, pool.Routing.ServerFor(Encoding.UTF8.GetBytes(key))!.Config.Port);
        }
        finally
        {
            ClusterSlots.FinishMigration(_cluster, slot, target);
        }
    }

    [Fact]
    public async Task ABlockingCall_FollowsItsSlotWhenItMoved()
    {
        await using var rampart = await StartReadyAsync(_cluster);
        const string key = "queue";
        var source = OwnerOf(key);
        var target = _cluster.Nodes.First(n => n.Port != source.Port);
        ClusterSlots.Migrate(_cluster, ClusterSlot.Of(Encoding.UTF8.GetBytes(key)), source, target);

        // Rampart's map still names the source: the BLPOP is answered MOVED there, and blocks on the target instead.
        using var waiter = RespTestClient.ConnectTcp(rampart.Port);
        waiter.Send(RespTestClient.Command("BLPOP", key, "20"));
        Assert.True(Poll.WaitUntil(() => target.Send(RespText.Command("INFO", "clients")).Contains("blocked_clients:1"), TimeSpan.FromSeconds(15)),
            "the BLPOP never blocked on the node that now serves its slot");
        using var pusher = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal(1L, pusher.Call("RPUSH", key, "job"));
        Assert.Equal(new object?[] { key, "job" }, (object?[])RespTestClient.AsText(waiter.ReadReply())!);
        var pool = rampart.Server.Pools.Single();
        Assert.Equal(1, pool.Routing.Servers.Sum(s => s.Stats.Moved)); // the BLPOP's, followed on its dedicated connection
    }

    [Fact]
    public async Task ATransactionSentWhole_FollowsItsSlotWhenItMoved()
    {
        await using var rampart = await StartReadyAsync(_cluster);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        const string key = "{tx}counter";
        Assert.Equal(1L, client.Call("INCR", key));
        var source = OwnerOf(key);
        var target = _cluster.Nodes.First(n => n.Port != source.Port);
        ClusterSlots.Migrate(_cluster, ClusterSlot.Of(Encoding.UTF8.GetBytes(key)), source, target);

        // Pipelined in one write, as client libraries send a transaction: Rampart sends it whole to the source, which
        // refuses it (MOVED, then EXECABORT); it goes whole to the target, and the client sees only its replies.
        client.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("INCR", key), .. RespTestClient.Command("INCR", "{tx}other"),
            .. RespTestClient.Command("EXEC")]);
        Assert.Equal("OK", client.ReadReply());
        Assert.Equal("QUEUED", client.ReadReply());
        Assert.Equal("QUEUED", client.ReadReply());
        Assert.Equal(new object?[] { 2L, 1L }, (object?[])client.ReadReply()!);
        Assert.StartsWith(":3", target.Send(RespText.Command("INCR", key)));
        Assert.True(rampart.Server.Pools.Single().Routing.Servers.Sum(s => s.Stats.Moved) >= 1);
    }

    private static string Bulk(string value) => $"${value.Length}\r\n{value}\r\n";

    private static string RedisAsking(RedisServerProcess node, string key) =>
        RedisProgram.ExchangeOnce(node.Port, RespText.Command("ASKING") + RespText.Command("GET", key)).Substring("+OK\r\n".Length);
}
