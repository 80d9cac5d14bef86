using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>A 3-server sharded pool: Redis's standalone mode, keyless server commands refused with the reason.</summary>
public sealed class ShardedPoolTests(ShardedPoolFixture fixture) : SplitPoolTests(fixture, "standalone"), IClassFixture<ShardedPoolFixture>
{
    [Fact]
    public void KeylessServerCommands_AreRefusedWithReason_NotAnsweredForOneServer()
    {
        using var client = new RawClient(fixture.Rampart.Port);
        foreach (var command in new[] { new[] { "RANDOMKEY" }, ["CONFIG", "GET", "maxmemory"] })
        {
            client.Send(RespText.Command(command));
            string reply = client.ReadLine();
            Assert.StartsWith($"-ERR rampart: '{string.Join(' ', command.Take(command[0] == "CONFIG" ? 2 : 1))}' names no key", reply);
        }
        client.Send(RespText.Command("TIME"));
        Assert.Equal("*2", client.ReadLine());
    }
}

/// <summary>
/// A cluster pool of three masters: the same splitting and keyless policy. Its merged INFO says cluster, as its HELLO
/// and CLUSTER answers do (a one-node cluster); the fixture's StackExchange.Redis client leaves INFO and CLUSTER out of
/// its command map, so it stays a standalone client and sends multi-key commands over several slots for Rampart to split.
/// </summary>
public sealed class ClusterSplitPoolTests(ClusterPoolFixture fixture) : SplitPoolTests(fixture, "cluster"), IClassFixture<ClusterPoolFixture>
{
    [Fact]
    public async Task Flushall_WithAllowFlush_EmptiesEveryMaster()
    {
        // A second Rampart on the class's cluster, allowed to flush (the class's tests run one at a time).
        await using var flushing = await RampartUnderTest.StartAsync(ClusterPoolFixture.Pool(fixture.Cluster, "flush") with { AllowFlush = true });
        Assert.True(ClusterPoolConfig.WaitForSlotMap(flushing, "flush"), "no slot map within 10 s");
        using var client = new RawClient(flushing.Port);
        foreach (string key in fixture.KeysOnEveryServer("flush")) { client.Send(RespText.Command("SET", key, "1")); Assert.Equal("+OK", client.ReadLine()); }
        Assert.All(fixture.Servers, s => Assert.NotEqual(":0", s.Send(RespText.Command("DBSIZE")).Trim()));
        client.Send(RespText.Command("FLUSHALL"));
        Assert.Equal("+OK", client.ReadLine());
        Assert.All(fixture.Servers, s => Assert.Equal(":0", s.Send(RespText.Command("DBSIZE")).Trim()));
    }
}

/// <summary>
/// A pool of three servers (shards, or a cluster's masters): MGET/MSET/DEL/EXISTS/TOUCH/UNLINK split over the servers
/// and merged, other multi-key commands across servers refused with CROSSSLOT, DBSIZE summed, FLUSHALL refused unless
/// allowed, INFO merged with the pool's <paramref name="mode"/>.
/// </summary>
public abstract class SplitPoolTests(IProxiedPool fixture, string mode)
{
    private readonly IDatabase _db = fixture.Client.GetDatabase();

    private static string[] Keys(string prefix, int count) =>
        Enumerable.Range(0, count).Select(i => $"{prefix}:{Guid.NewGuid():N}:{i}").ToArray();

    [Fact]
    public void KeysOfTheTest_ReallySpreadOverAllServers()
    {
        var owners = Keys("spread", 60).Select(k => fixture.OwnerOf(k).Port).Distinct().Count();
        Assert.Equal(3, owners);
    }

    [Fact]
    public async Task MsetThenMget_AcrossShards_ValuesInKeyOrder_StoredOnOwningServers()
    {
        var keys = Keys("mset", 30);
        var pairs = keys.Select((k, i) => new KeyValuePair<RedisKey, RedisValue>(k, $"value-{i}")).ToArray();
        Assert.True(await _db.StringSetAsync(pairs));
        string missing = $"missing:{Guid.NewGuid():N}";
        var asked = keys.Take(10).Append(missing).Concat(keys.Skip(10)).Select(k => (RedisKey)k).ToArray();
        var values = await _db.StringGetAsync(asked);
        for (int i = 0; i < asked.Length; i++)
        {
            string key = asked[i]!;
            if (key == missing) Assert.False(values[i].HasValue);
            else Assert.Equal($"value-{Array.IndexOf(keys, key)}", (string?)values[i]);
        }
        for (int i = 0; i < keys.Length; i++) Assert.Equal($"value-{i}", fixture.DirectGet(keys[i]));
    }

    [Fact]
    public async Task DelExistsTouchUnlink_AcrossShards_AreSummed()
    {
        var keys = Keys("sum", 12);
        foreach (var k in keys) await _db.StringSetAsync(k, "x");
        var asKeys = keys.Select(k => (RedisKey)k).ToArray();
        Assert.Equal(12, await _db.KeyExistsAsync(asKeys));
        Assert.Equal(12, await _db.KeyTouchAsync(asKeys));
        Assert.Equal(6, await _db.KeyDeleteAsync(asKeys.Take(6).ToArray()));
        Assert.Equal(6, await _db.ExecuteAsync("UNLINK", asKeys.Cast<object>().ToArray()) is var r ? (long)r : -1);
        Assert.Equal(0, await _db.KeyExistsAsync(asKeys));
    }

    [Fact]
    public void ExistsWithRepeatedKeys_CountsEachOccurrence_AsRedisDoes()
    {
        using var client = new RawClient(fixture.Rampart.Port);
        var keys = Keys("rep", 6);
        foreach (var k in keys) { client.Send(RespText.Command("SET", k, "1")); Assert.Equal("+OK", client.ReadLine()); }
        client.Send(RespText.Command(["EXISTS", .. keys, .. keys, "nope"]));
        Assert.Equal(":12", client.ReadLine());
    }

    [Fact]
    public void OtherMultiKeyCommands_AcrossShards_GetCrossSlot_ButWorkWithHashTags()
    {
        using var client = new RawClient(fixture.Rampart.Port);
        var keys = Keys("nx", 20);
        client.Send(RespText.Command(["MSETNX", .. keys.SelectMany(k => new[] { k, "v" })]));
        Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", client.ReadLine());
        string tag = Guid.NewGuid().ToString("N");
        client.Send(RespText.Command("MSETNX", $"{{{tag}}}:a", "1", $"{{{tag}}}:b", "2"));
        Assert.Equal(":1", client.ReadLine());
        client.Send(RespText.Command("SUNIONSTORE", $"{{{tag}}}:dest", $"{{{tag}}}:s1", $"{{{tag}}}:s2"));
        Assert.Equal(":0", client.ReadLine());
    }

    [Fact]
    public void Dbsize_IsTheSumOverServers()
    {
        using var client = new RawClient(fixture.Rampart.Port);
        long expected = fixture.Servers.Sum(s => long.Parse(s.Send(RespText.Command("DBSIZE"))[1..].Trim()));
        client.Send(RespText.Command("DBSIZE"));
        Assert.Equal($":{expected}", client.ReadLine());
    }

    [Fact]
    public void Flushall_IsRefusedUnlessAllowed()
    {
        using var client = new RawClient(fixture.Rampart.Port);
        client.Send(RespText.Command("FLUSHALL"));
        string reply = client.ReadLine();
        Assert.StartsWith("-ERR rampart: 'FLUSHALL' would empty all 3 servers", reply);
        Assert.Contains("allow_flush", reply);
    }

    [Fact]
    public void Info_KeepsTheLinesEveryServerHasInCommon_AndNoOneServersCountersOrIds()
    {
        using var client = new RespTestClient_(fixture.Rampart.Port);
        string merged = client.Info("INFO");
        var perServer = fixture.Servers.Select(s => Lines(RespTestClient_.InfoOf(s.Port))).ToArray();
        string version = perServer[0].First(l => l.StartsWith("redis_version:"));
        Assert.Contains(version, Lines(merged));
        Assert.Contains($"redis_mode:{mode}", Lines(merged));
        Assert.Contains("role:master", Lines(merged));
        Assert.StartsWith("# Server\r\n", merged);
        Assert.DoesNotContain(Lines(merged), l => l.StartsWith("tcp_port:") || l.StartsWith("run_id:") || l.StartsWith("process_id:"));
        // The server section holds no counters, so taken again it still says the same: every line kept is on every
        // server, but for Rampart's own uptime, version and mode (ShardedInfoTests; a cluster's nodes say cluster).
        var serverSection = perServer.Select(p => p.TakeWhile(l => l.Length > 0).ToArray()).ToArray();
        foreach (string line in Lines(client.Info("INFO", "server"))
                     .Where(l => l.Length > 0 && !l.StartsWith('#') && !l.StartsWith("uptime_in_") && !l.StartsWith("rampart_version:") && !l.StartsWith("redis_mode:")))
            Assert.All(serverSection, server => Assert.Contains(line, server));
        Assert.Contains("# Replication", client.Info("INFO", "replication"));
        Assert.DoesNotContain("# Server", client.Info("INFO", "replication"));
    }

    private static string[] Lines(string info) => info.Split("\r\n");

    /// <summary>INFO through Rampart or straight to one server, as text.</summary>
    private sealed class RespTestClient_(int port) : IDisposable
    {
        private readonly RespTestClient _client = RespTestClient.ConnectTcp(port);
        public string Info(params string[] args) => (string)_client.CallText(args)!;
        public static string InfoOf(int port)
        {
            using var c = new RespTestClient_(port);
            return c.Info("INFO");
        }
        public void Dispose() => _client.Dispose();
    }

    [Fact]
    public void ClientReplyOff_DropsTheMergedRepliesOfSplitCommands_AndOnBringsThemBack()
    {
        using var client = new RawClient(fixture.Rampart.Port);
        var keys = Keys("silent", 9);
        client.Send(RespText.Command("CLIENT", "REPLY", "OFF") + RespText.Command(["MSET", .. keys.SelectMany(k => new[] { k, k })])
                    + RespText.Command(["MGET", .. keys]) + RespText.Command(["DEL", .. keys.Take(3)]) + RespText.Command("CLIENT", "REPLY", "ON") + RespText.Command(["MGET", .. keys]));
        Assert.Equal("+OK", client.ReadLine());
        Assert.Equal("*9", client.ReadLine());
        Assert.Equal("$-1", client.ReadLine());
        Assert.Equal("$-1", client.ReadLine());
        Assert.Equal("$-1", client.ReadLine());
        foreach (var key in keys.Skip(3))
        {
            client.ReadLine();
            Assert.Equal(key, client.ReadLine());
        }
        client.Send(RespText.Command("PING"));
        Assert.Equal("+PONG", client.ReadLine());
    }

    [Fact]
    public async Task ConcurrentSplitCommands_RepliesNeverCrossClients()
    {
        var tasks = Enumerable.Range(0, 40).Select(c => Task.Run(async () =>
        {
            var db = fixture.Client.GetDatabase();
            for (int round = 0; round < 25; round++)
            {
                var keys = Keys($"cc{c}", 8);
                var pairs = keys.Select((k, i) => new KeyValuePair<RedisKey, RedisValue>(k, $"{c}-{round}-{i}")).ToArray();
                await db.StringSetAsync(pairs);
                var values = await db.StringGetAsync(keys.Select(k => (RedisKey)k).ToArray());
                for (int i = 0; i < keys.Length; i++) Assert.Equal($"{c}-{round}-{i}", (string?)values[i]);
            }
        }));
        await Task.WhenAll(tasks);
    }
}

public sealed class ShardedFlushTests
{
    [Fact]
    public async Task Flushall_WithAllowFlush_EmptiesEveryServer()
    {
        RedisServerProcess[] servers = [RedisServerProcess.Start(), RedisServerProcess.Start()];
        try
        {
            await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(servers) with { AllowFlush = true });
            using var client = new RawClient(rampart.Port);
            for (int i = 0; i < 40; i++) { client.Send(RespText.Command("SET", $"f:{Guid.NewGuid():N}", "1")); Assert.Equal("+OK", client.ReadLine()); }
            Assert.All(servers, s => Assert.NotEqual(":0", s.Send(RespText.Command("DBSIZE")).Trim()));
            client.Send(RespText.Command("FLUSHALL"));
            Assert.Equal("+OK", client.ReadLine());
            Assert.All(servers, s => Assert.Equal(":0", s.Send(RespText.Command("DBSIZE")).Trim()));
        }
        finally
        {
            foreach (var s in servers) s.Dispose();
        }
    }

    [Fact]
    public async Task MgetWithAKeyOnADeadServer_GetsAnError_KeysOnLiveServersStillWork()
    {
        RedisServerProcess[] servers = [RedisServerProcess.Start(), RedisServerProcess.Start()];
        try
        {
            var pool = RampartUnderTest.Pool(servers);
            var router = KeyRouter.Create(pool);
            await using var rampart = await RampartUnderTest.StartAsync(pool);
            using var client = new RawClient(rampart.Port);
            var keys = Enumerable.Range(0, 40).Select(i => $"dead:{Guid.NewGuid():N}").ToArray();
            var onLive = keys.Where(k => router.ServerFor(System.Text.Encoding.UTF8.GetBytes(k)) == 0).ToArray();
            Assert.NotEmpty(onLive);
            Assert.NotEqual(keys.Length, onLive.Length);
            servers[1].Kill();
            client.Send(RespText.Command(["MGET", .. keys]));
            Assert.StartsWith("-ERR rampart: ", client.ReadLine());
            client.Send(RespText.Command(["MGET", .. onLive]));
            Assert.Equal($"*{onLive.Length}", client.ReadLine());
        }
        finally
        {
            foreach (var s in servers) s.Dispose();
        }
    }
}
