using System.Text;
using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Rampart.Proxy.Tests.ClientLibraries;

/// <summary>StackExchange.Redis with its defaults, in front of one server.</summary>
public sealed class StackExchangeRedisSingleServerTests(ProxiedRedisFixture fixture, ITestOutputHelper output)
    : StackExchangeRedisTests(fixture, output), IClassFixture<ProxiedRedisFixture>
{
    [Fact]
    public async Task DefaultConnect_LearnsTheRealServerVersion()
    {
        await using var mux = await ConnectAsync();
        var server = mux.GetServer(fixture.Rampart.Endpoint);
        string info = fixture.Redis.Send("INFO server\r\n");
        string version = info.Split("\r\n").First(l => l.StartsWith("redis_version:"))["redis_version:".Length..];
        Assert.Equal(Version.Parse(version), server.Version);
        Assert.Equal(ServerType.Standalone, server.ServerType);
    }

    [Theory]
    [InlineData("INFO|server")]
    [InlineData("CONFIG|GET|databases")]
    [InlineData("CLUSTER|NODES")]
    [InlineData("ECHO|hello")]
    [InlineData("CLIENT|SETNAME|app")]
    [InlineData("CLIENT|SETINFO|lib-name|SE.Redis")]
    public void ConnectHandshakeCommand_GetsWhatTheServerItselfAnswers(string command)
    {
        // What StackExchange.Redis asks while connecting; through Rampart the reply must be the server's own (INFO's
        // changing counters aside, so for INFO only the shape and the version line are compared).
        string[] args = command.Split('|');
        using var proxied = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        using var direct = RespTestClient.ConnectTcp(fixture.Redis.Port);
        var viaRampart = proxied.CallText(args);
        var viaRedis = direct.CallText(args);
        if (args[0] == "INFO")
        {
            string Line(object? info) => ((string)info!).Split("\r\n").First(l => l.StartsWith("redis_version:"));
            Assert.Equal(Line(viaRedis), Line(viaRampart));
        }
        else Assert.Equal(viaRedis, viaRampart);
    }
}

/// <summary>StackExchange.Redis with its defaults, in front of a 3-server pool.</summary>
public sealed class StackExchangeRedisShardedTests(ShardedPoolFixture fixture, ITestOutputHelper output)
    : StackExchangeRedisTests(fixture, output), IClassFixture<ShardedPoolFixture>
{
    [Theory]
    [InlineData("CONFIG|GET|databases", "CONFIG GET")]
    [InlineData("CLUSTER|NODES", "CLUSTER NODES")]
    public void ConnectHandshakeCommand_ThatNoOneServerCanAnswerForThePool_GetsAClearError(string command, string shown)
    {
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        var reply = Assert.IsType<RespError>(client.Call(command.Split('|')));
        Assert.StartsWith($"ERR rampart: '{shown}' names no key, so no single server of pool", reply.Message);
    }

    [Fact]
    public async Task DefaultConnect_LearnsTheVersionEveryServerShares()
    {
        await using var mux = await ConnectAsync();
        var server = mux.GetServer(fixture.Rampart.Endpoint);
        string info = fixture.Servers[0].Send("INFO server\r\n");
        string version = info.Split("\r\n").First(l => l.StartsWith("redis_version:"))["redis_version:".Length..];
        Assert.Equal(Version.Parse(version), server.Version);
        Assert.Equal(ServerType.Standalone, server.ServerType);
    }
}

/// <summary>
/// StackExchange.Redis in cluster mode (its defaults) in front of a cluster pool: it reads CLUSTER NODES from Rampart,
/// sees one node owning every slot, and sends everything there; Rampart spreads the keys over the real masters.
/// </summary>
public sealed class StackExchangeRedisClusterModeTests(ClusterPoolFixture fixture, ITestOutputHelper output)
    : StackExchangeRedisTests(fixture, output), IClassFixture<ClusterPoolFixture>
{
    [Fact]
    public async Task DefaultConnect_SeesOneClusterNodeOwningEverySlot()
    {
        await using var mux = await ConnectAsync();
        var server = mux.GetServer(fixture.Rampart.Endpoint);
        Assert.Equal(ServerType.Cluster, server.ServerType);
        var node = Assert.Single(server.ClusterConfiguration!.Nodes);
        Assert.Equal(fixture.Rampart.Endpoint, node.EndPoint!.ToString());
        Assert.Equal(16384, node.Slots.Sum(r => r.To - r.From + 1));
        Assert.Single(mux.GetEndPoints());
    }
}

/// <summary>
/// StackExchange.Redis as a standalone client of a cluster pool (CLUSTER disabled in its command map, so it never
/// learns of slots): the same operations, keys spread over the real masters by Rampart alone.
/// </summary>
public sealed class StackExchangeRedisStandaloneOnClusterTests(ClusterPoolFixture fixture, ITestOutputHelper output)
    : StackExchangeRedisTests(fixture, output), IClassFixture<ClusterPoolFixture>
{
    protected override ConfigurationOptions Options() => ClusterPoolFixture.Standalone(fixture.Rampart.Endpoint);

    [Fact]
    public async Task Connect_IsStandalone()
    {
        await using var mux = await ConnectAsync();
        Assert.Equal(ServerType.Standalone, mux.GetServer(fixture.Rampart.Endpoint).ServerType);
    }
}

/// <summary>
/// StackExchange.Redis exactly as an application would use it: <c>ConnectionMultiplexer.Connect("host:port")</c>
/// with no proxy option. The connection must come up (IsConnected) and the common operations must do what they do
/// against Redis, checked on the servers themselves.
/// </summary>
public abstract class StackExchangeRedisTests(IProxiedPool pool, ITestOutputHelper output)
{
    private string? DirectGet(string key) => pool.DirectGet(key);

    private static string Unique(string name) => $"se:{name}:{Guid.NewGuid():N}";

    /// <summary>How the application configures the library: by default only "host:port".</summary>
    protected virtual ConfigurationOptions Options() => ConfigurationOptions.Parse(pool.Rampart.Endpoint);

    protected async Task<ConnectionMultiplexer> ConnectAsync()
    {
        var log = new StringWriter();
        var mux = await ConnectionMultiplexer.ConnectAsync(Options(), log);
        output.WriteLine(log.ToString());
        Assert.True(mux.IsConnected, log.ToString());
        return mux;
    }

    [Fact]
    public async Task DefaultConnect_ComesUp_AndLogsNoFailure()
    {
        var log = new StringWriter();
        await using var mux = await ConnectionMultiplexer.ConnectAsync(Options(), log);
        string text = log.ToString();
        output.WriteLine(text);
        Assert.True(mux.IsConnected);
        Assert.Contains("1 unique nodes specified", text);
        Assert.DoesNotContain("No masters detected", text);
        Assert.DoesNotContain("failed", text, StringComparison.OrdinalIgnoreCase);
        // Its own subscription (to the master-changed channel), made on connect, becomes live on a dedicated
        // connection. The connect log may be written before the SUBSCRIBE is confirmed, so ask the multiplexer.
        string status = "";
        for (var until = DateTime.UtcNow.AddSeconds(10); !status.Contains("sub: ConnectedEstablished, 1 active") && DateTime.UtcNow < until; await Task.Delay(50))
        {
            var writer = new StringWriter();
            mux.GetStatus(writer);
            status = writer.ToString();
        }
        Assert.Contains("sub: ConnectedEstablished, 1 active", status);
        var db = mux.GetDatabase();
        Assert.Equal("PONG", (string?)await db.ExecuteAsync("PING"));
        Assert.True((await db.PingAsync()) < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ClientName_ChosenByTheLibrary_IsWhatRampartReports()
    {
        var options = Options();
        options.ClientName = "se-" + Guid.NewGuid().ToString("N")[..8];
        await using var mux = await ConnectionMultiplexer.ConnectAsync(options);
        var db = mux.GetDatabase();
        Assert.Equal(options.ClientName, (string?)await db.ExecuteAsync("CLIENT", "GETNAME"));
    }

    [Fact]
    public async Task StringsHashesLists_WithUniqueValues()
    {
        await using var mux = await ConnectAsync();
        var db = mux.GetDatabase();
        string s = Unique("s"), h = Unique("h"), l = Unique("l"), value = Guid.NewGuid().ToString();
        Assert.True(await db.StringSetAsync(s, value));
        Assert.Equal(value, (string?)await db.StringGetAsync(s));
        Assert.Equal(value, DirectGet(s));
        Assert.Equal(5, await db.StringIncrementAsync(Unique("n"), 5));

        await db.HashSetAsync(h, [new("f1", value), new("f2", "2")]);
        Assert.Equal(value, (string?)await db.HashGetAsync(h, "f1"));
        Assert.Equal(1, await db.HashIncrementAsync(h, "f3"));
        Assert.Equal(3, await db.HashLengthAsync(h));

        Assert.Equal(3, await db.ListRightPushAsync(l, ["a", value, "c"]));
        Assert.Equal(["a", value, "c"], (await db.ListRangeAsync(l)).Select(v => (string)v!));
        Assert.Equal("c", (string?)await db.ListRightPopAsync(l));
    }

    [Fact]
    public async Task Expiry_SetWithTtlAndExpireAndPersist()
    {
        await using var mux = await ConnectAsync();
        var db = mux.GetDatabase();
        string a = Unique("ttl"), b = Unique("ttl");
        Assert.True(await db.StringSetAsync(a, "x", TimeSpan.FromSeconds(100)));
        var ttl = await db.KeyTimeToLiveAsync(a);
        Assert.InRange(ttl!.Value, TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(100));
        await db.StringSetAsync(b, "y");
        Assert.Null(await db.KeyTimeToLiveAsync(b));
        Assert.True(await db.KeyExpireAsync(b, TimeSpan.FromMilliseconds(200)));
        Assert.True(await db.KeyPersistAsync(a));
        Assert.Null(await db.KeyTimeToLiveAsync(a));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await db.KeyExistsAsync(b) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.False(await db.KeyExistsAsync(b));
    }

    [Fact]
    public async Task BatchAndPipelinedCalls_EachGetTheirOwnReply()
    {
        await using var mux = await ConnectAsync();
        var db = mux.GetDatabase();
        var keys = Enumerable.Range(0, 200).Select(i => Unique($"b{i}")).ToArray();
        var batch = db.CreateBatch();
        var sets = keys.Select((k, i) => batch.StringSetAsync(k, $"{k}={i}")).ToArray();
        var incrs = keys.Select(k => batch.StringAppendAsync(k, "!")).ToArray();
        batch.Execute();
        Assert.All(await Task.WhenAll(sets), Assert.True);
        var lengths = await Task.WhenAll(incrs);
        for (int i = 0; i < keys.Length; i++) Assert.Equal($"{keys[i]}={i}!".Length, lengths[i]);

        // Fire-and-await pipelining: many calls in flight on the one connection.
        var gets = keys.Select(k => db.StringGetAsync(k)).ToArray();
        var values = await Task.WhenAll(gets);
        for (int i = 0; i < keys.Length; i++) Assert.Equal($"{keys[i]}={i}!", (string?)values[i]);
        Assert.Equal($"{keys[7]}=7!", DirectGet(keys[7]));
    }

    [Fact]
    public async Task LuaScripts_LoadedAndRunByTheLibrary()
    {
        await using var mux = await ConnectAsync();
        var db = mux.GetDatabase();
        var script = LuaScript.Prepare("redis.call('SET', @key, @value) return redis.call('STRLEN', @key)");
        string key = Unique("lua"), value = Guid.NewGuid().ToString();
        var result = await db.ScriptEvaluateAsync(script, new { key = (RedisKey)key, value });
        Assert.Equal(value.Length, (long)result);
        Assert.Equal(value, DirectGet(key));
        // The same script again goes by EVALSHA.
        string key2 = Unique("lua");
        Assert.Equal(value.Length, (long)await db.ScriptEvaluateAsync(script, new { key = (RedisKey)key2, value }));
        Assert.Equal(value, DirectGet(key2));
    }

    [Fact]
    public async Task KeysOfOneBatch_AreStoredOnTheirServers_OverEveryServer()
    {
        await using var mux = await ConnectAsync();
        var db = mux.GetDatabase();
        var keys = Enumerable.Range(0, 10).SelectMany(i => pool.KeysOnEveryServer($"se:spread{i}")).ToArray();
        var values = keys.ToDictionary(k => k, _ => Guid.NewGuid().ToString());
        var batch = db.CreateBatch();
        var sets = keys.Select(k => batch.StringSetAsync(k, values[k])).ToArray();
        batch.Execute();
        Assert.All(await Task.WhenAll(sets), Assert.True);
        Assert.Equal(pool.Servers.Count, keys.Select(k => pool.OwnerOf(k).Port).Distinct().Count());
        foreach (var k in keys) Assert.Equal(values[k], DirectGet(k));
    }
}
