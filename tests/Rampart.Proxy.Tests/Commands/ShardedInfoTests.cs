using Rampart.Proxy.Commands;
using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>INFO through a pool of four shards; StackExchange.Redis reads it and takes the pool for a standalone server.</summary>
public sealed class ShardedInfoTests(FourShardFixture fixture) : MergedInfoTests(fixture), IClassFixture<FourShardFixture>
{
    [Fact]
    public async Task StackExchangeRedis_ReadsTheVersionAndStandaloneMode()
    {
        // Admin mode only so that the test may call IServer.Info itself; the connect handshake is the default one.
        await using var mux = await ConnectionMultiplexer.ConnectAsync(fixture.Rampart.Endpoint + ",allowAdmin=true");
        var server = mux.GetServer(fixture.Rampart.Endpoint);
        Assert.Equal(Version.Parse(Fields(DirectInfo("server")[0])["redis_version"]), server.Version);
        Assert.Equal(ServerType.Standalone, server.ServerType);
        Assert.False(server.IsReplica);
        // A key, so the keyspace section has a line whichever tests ran before (empty, it is only its header).
        Assert.True(await mux.GetDatabase().StringSetAsync($"se:info:{Guid.NewGuid():N}", "v"));
        var keyspace = (await server.InfoAsync("keyspace")).Single();
        Assert.Equal("Keyspace", keyspace.Key);
    }
}

/// <summary>INFO through a cluster pool of three masters: Rampart's says cluster too (a one-node cluster).</summary>
public sealed class ClusterInfoTests(ClusterPoolFixture fixture) : MergedInfoTests(fixture, "cluster"), IClassFixture<ClusterPoolFixture>;

/// <summary>
/// INFO through a pool of several real servers (shards, or a cluster's masters), compared with each server's own INFO:
/// sections in Redis's order with their headers, keyspace and stats summed, Rampart's own clients, version, uptime and
/// mode.
/// </summary>
public abstract class MergedInfoTests(IProxiedPool fixture, string mode = "standalone")
{
    private readonly IDatabase _db = fixture.Client.GetDatabase();

    protected string Info(params string[] args)
    {
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        return Assert.IsType<string>(client.CallText(["INFO", .. args]));
    }

    protected string[] DirectInfo(params string[] args) => fixture.Servers.Select(s =>
    {
        using var direct = RespTestClient.ConnectTcp(s.Port);
        return Assert.IsType<string>(direct.CallText(["INFO", .. args]));
    }).ToArray();

    protected static Dictionary<string, string> Fields(string info) =>
        info.Split("\r\n").Where(l => l.Length > 0 && !l.StartsWith('#')).ToDictionary(l => l[..l.IndexOf(':')], l => l[(l.IndexOf(':') + 1)..]);

    private static string[] Headers(string info) => info.Split("\r\n").Where(l => l.StartsWith('#')).ToArray();

    /// <summary>db0's fields, as <c>keys=N,expires=N,avg_ttl=N</c> says them.</summary>
    private static Dictionary<string, long> Db0(string info) =>
        Fields(info).TryGetValue("db0", out string? line)
            ? line.Split(',').ToDictionary(p => p.Split('=')[0], p => long.Parse(p.Split('=')[1]))
            : new() { ["keys"] = 0, ["expires"] = 0, ["avg_ttl"] = 0 };

    [Theory]
    [InlineData]
    [InlineData("default")]
    [InlineData("all")]
    [InlineData("everything")]
    [InlineData("keyspace", "clients")]
    [InlineData("server", "stats", "replication")]
    [InlineData("commandstats")]
    [InlineData("nosuchsection")]
    public void Sections_AreRedissSections_InRedissOrder_WithEveryHeader(params string[] args)
    {
        string merged = Info(args);
        Assert.Equal(Headers(DirectInfo(args)[0]), Headers(merged));
        if (Headers(merged).Length == 0) Assert.Equal("", merged);
        else Assert.DoesNotContain("\r\n\r\n\r\n", merged);
    }

    [Fact]
    public async Task Keyspace_SumsKeysAndExpires_OverTheServers_AndWeightsAvgTtl()
    {
        var keys = Enumerable.Range(0, 3000).Select(i => $"ks:{Guid.NewGuid():N}:{i}").ToArray();
        await _db.StringSetAsync(keys.Select(k => new KeyValuePair<RedisKey, RedisValue>(k, "v")).ToArray());
        await Task.WhenAll(keys.Take(1000).Select(k => _db.KeyExpireAsync(k, TimeSpan.FromDays(10))));
        // avg_ttl is each server's own estimate, refreshed by its expiry cycle: wait until every server has one.
        await Poll.WaitUntilAsync(() => DirectInfo("keyspace").All(i => Db0(i)["avg_ttl"] > 0), TimeSpan.FromSeconds(20));

        var before = DirectInfo("keyspace").Select(Db0).ToArray();
        var merged = Db0(Info("keyspace"));
        var after = DirectInfo("keyspace").Select(Db0).ToArray();

        Assert.Equal(before.Sum(d => d["keys"]), merged["keys"]);
        Assert.Equal(before.Sum(d => d["expires"]), merged["expires"]);
        Assert.Equal(after.Sum(d => d["keys"]), merged["keys"]);
        // The weighted mean of the servers' means lies between their smallest and largest (both moments).
        long low = before.Concat(after).Min(d => d["avg_ttl"]), high = before.Concat(after).Max(d => d["avg_ttl"]);
        Assert.InRange(merged["avg_ttl"], low, high);
        Assert.Matches(@"^db0:keys=\d+,expires=\d+,avg_ttl=\d+$", Info("keyspace").Split("\r\n")[1]);
    }

    [Fact]
    public void Clients_CountsRampartsOwnClientsOfThePool()
    {
        using var extra1 = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        using var extra2 = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        Assert.Equal("PONG", extra1.Call("PING"));
        Assert.Equal("PONG", extra2.Call("PING"));
        // CLIENT LIST is Rampart's list of this pool's clients: one line each.
        int listed = Assert.IsType<string>(client.CallText("CLIENT", "LIST")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        var fields = Fields(Assert.IsType<string>(client.CallText("INFO", "clients")));
        Assert.Equal(listed.ToString(), fields["connected_clients"]);
        Assert.True(listed >= 3);
        Assert.Equal(Fields(DirectInfo("clients")[0])["maxclients"], fields["maxclients"]);
        long blocked = DirectInfo("clients").Sum(i => long.Parse(Fields(i)["blocked_clients"]));
        Assert.Equal(blocked.ToString(), fields["blocked_clients"]);
    }

    [Fact]
    public void Server_SaysRampartsVersionUptimeAndMode_AndTheServersSharedVersion()
    {
        var fields = Fields(Info("server"));
        Assert.Equal(Fields(DirectInfo("server")[0])["redis_version"], fields["redis_version"]);
        Assert.Equal(mode, fields["redis_mode"]);
        Assert.Equal(InfoFacts.Version, fields["rampart_version"]);
        long uptime = long.Parse(fields["uptime_in_seconds"]);
        Assert.InRange(uptime, 0, (long)(DateTime.Now - System.Diagnostics.Process.GetCurrentProcess().StartTime).TotalSeconds + 1);
        Assert.Equal((uptime / 86400).ToString(), fields["uptime_in_days"]);
        Assert.DoesNotContain("run_id", fields.Keys);
        Assert.DoesNotContain("tcp_port", fields.Keys);
        Assert.DoesNotContain("process_id", fields.Keys);
    }

    [Fact]
    public async Task Stats_SumTheServersCounters()
    {
        var keys = Enumerable.Range(0, 200).Select(i => $"stats:{Guid.NewGuid():N}:{i}").ToArray();
        await _db.StringSetAsync(keys.Take(100).Select(k => new KeyValuePair<RedisKey, RedisValue>(k, "v")).ToArray());
        foreach (var key in keys) await _db.StringGetAsync(key); // 100 hits, 100 misses over the servers

        var merged = Fields(Info("stats"));
        var direct = DirectInfo("stats").Select(Fields).ToArray();
        foreach (string field in new[] { "keyspace_hits", "keyspace_misses", "expired_keys", "evicted_keys" })
            Assert.Equal(direct.Sum(d => long.Parse(d[field])).ToString(), merged[field]);
        Assert.True(long.Parse(merged["keyspace_hits"]) >= 100);
        Assert.True(long.Parse(merged["keyspace_misses"]) >= 100);
    }
}
