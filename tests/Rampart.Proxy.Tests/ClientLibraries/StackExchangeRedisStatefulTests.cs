using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.ClientLibraries;

/// <summary>StackExchange.Redis transactions and pub/sub with its defaults, in front of one server.</summary>
public sealed class StackExchangeRedisStatefulSingleServerTests(ProxiedRedisFixture fixture)
    : StackExchangeRedisStatefulTests(fixture.Rampart), IClassFixture<ProxiedRedisFixture>;

/// <summary>The same through a 3-server pool: a transaction's keys share a hash tag.</summary>
public sealed class StackExchangeRedisStatefulShardedTests(ShardedPoolFixture fixture)
    : StackExchangeRedisStatefulTests(fixture.Rampart), IClassFixture<ShardedPoolFixture>;

/// <summary>
/// StackExchange.Redis with its own RESP3 option (<c>Protocol = RedisProtocol.Resp3</c>: HELLO 3, then commands and
/// subscriptions in RESP3 on one connection), in front of one server.
/// </summary>
public sealed class StackExchangeRedisResp3SingleServerTests(ProxiedRedisFixture fixture)
    : StackExchangeRedisStatefulTests(fixture.Rampart, RedisProtocol.Resp3), IClassFixture<ProxiedRedisFixture>;

/// <summary>The same with RESP3 through a 3-server pool.</summary>
public sealed class StackExchangeRedisResp3ShardedTests(ShardedPoolFixture fixture)
    : StackExchangeRedisStatefulTests(fixture.Rampart, RedisProtocol.Resp3), IClassFixture<ShardedPoolFixture>;

/// <summary>
/// The same in front of a cluster pool, StackExchange.Redis as a standalone client (so that it sends the common
/// operations' multi-key commands over several slots; its cluster mode is in StackExchangeRedisClusterModeTests):
/// transactions on one slot, subscriptions from any node.
/// </summary>
public sealed class StackExchangeRedisStatefulClusterTests(ClusterPoolFixture fixture)
    : StackExchangeRedisStatefulTests(ClusterPoolFixture.Standalone(fixture.Rampart.Endpoint)), IClassFixture<ClusterPoolFixture>;

/// <summary>
/// The same with RESP3 in front of a cluster pool. In RESP3 StackExchange.Redis takes HELLO's <c>mode</c>, which a
/// cluster pool answers "cluster" as its INFO and CLUSTER answers do, so it is in its cluster mode whatever its command
/// map: it refuses multi-key commands over several slots itself, and the common operations' keys share a hash tag.
/// </summary>
public sealed class StackExchangeRedisResp3ClusterTests(ClusterPoolFixture fixture)
    : StackExchangeRedisStatefulTests(ConfigurationOptions.Parse(fixture.Rampart.Endpoint), RedisProtocol.Resp3, keysInOneSlot: true), IClassFixture<ClusterPoolFixture>;

/// <summary>
/// What StackExchange.Redis does with connection state, through Rampart's dedicated connections: transactions with
/// and without conditions (WATCH, MULTI, EXEC) and subscriptions on its subscription connection; and its common
/// operations, which matter here for the RESP3 runs.
/// </summary>
public abstract class StackExchangeRedisStatefulTests(ConfigurationOptions baseOptions, RedisProtocol? protocol = null, bool keysInOneSlot = false)
{
    protected StackExchangeRedisStatefulTests(RampartUnderTest rampart, RedisProtocol? protocol = null)
        : this(ConfigurationOptions.Parse(rampart.Endpoint), protocol) { }

    private Task<ConnectionMultiplexer> ConnectAsync()
    {
        var options = baseOptions.Clone();
        if (protocol is { } chosen) options.Protocol = chosen;
        return ConnectionMultiplexer.ConnectAsync(options);
    }

    [Fact]
    public async Task CommonOperations_StringsHashesListsBatches()
    {
        await using var mux = await ConnectAsync();
        Assert.True(mux.IsConnected);
        Assert.Equal(protocol ?? RedisProtocol.Resp2, mux.GetServers()[0].Protocol); // what HELLO settled on
        var db = mux.GetDatabase();
        string run = Guid.NewGuid().ToString("N");
        if (keysInOneSlot) run = "{" + run + "}"; // a client in cluster mode sends a multi-key command only on one slot
        Assert.True(await db.StringSetAsync($"se:s:{run}", "v"));
        Assert.Equal("v", (string?)await db.StringGetAsync($"se:s:{run}"));
        Assert.True((await db.StringGetAsync($"se:none:{run}")).IsNull);
        var values = await db.StringGetAsync([$"se:s:{run}", $"se:none:{run}", $"se:s:{run}"]);
        Assert.Equal(["v", null, "v"], values.Select(v => (string?)v));
        await db.HashSetAsync($"se:h:{run}", [new HashEntry("f", "1"), new HashEntry("g", "2")]);
        Assert.Equal(new Dictionary<string, string> { ["f"] = "1", ["g"] = "2" },
            (await db.HashGetAllAsync($"se:h:{run}")).ToDictionary(e => (string)e.Name!, e => (string)e.Value!));
        Assert.Equal(3, await db.ListRightPushAsync($"se:l:{run}", ["a", "b", "c"]));
        Assert.Equal(["a", "b", "c"], (await db.ListRangeAsync($"se:l:{run}")).Select(v => (string?)v));
        Assert.Equal(1.5, await db.SortedSetIncrementAsync($"se:z:{run}", "m", 1.5));
        var batch = db.CreateBatch();
        var incrs = Enumerable.Range(0, 50).Select(i => batch.StringIncrementAsync($"se:n:{run}:{i}", i)).ToArray();
        batch.Execute();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), await Task.WhenAll(incrs));
        Assert.Equal(2, await db.KeyDeleteAsync([$"se:s:{run}", $"se:h:{run}", $"se:none:{run}"]));
    }

    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    /// <summary>Keys that share a hash tag, so a transaction over them is on one server in any pool.</summary>
    private static (string, string) TaggedKeys()
    {
        string tag = Guid.NewGuid().ToString("N");
        return ($"{{{tag}}}:a", $"{{{tag}}}:b");
    }

    [Fact]
    public async Task Transaction_RunsAllItsCommandsAtomically()
    {
        await using var mux = await ConnectAsync();
        var db = mux.GetDatabase();
        var (a, b) = TaggedKeys();
        string value = Guid.NewGuid().ToString();
        var tran = db.CreateTransaction();
        var set = tran.StringSetAsync(a, value);
        var incr1 = tran.StringIncrementAsync(b);
        var incr2 = tran.StringIncrementAsync(b, 10);
        Assert.True(await tran.ExecuteAsync());
        Assert.True(await set);
        Assert.Equal(1, await incr1);
        Assert.Equal(11, await incr2);
        Assert.Equal(value, (string?)await db.StringGetAsync(a));
    }

    [Fact]
    public async Task TransactionWithCondition_RunsOnlyWhenTheConditionHolds()
    {
        await using var mux = await ConnectAsync();
        var db = mux.GetDatabase();
        var (a, b) = TaggedKeys();

        var first = db.CreateTransaction();
        first.AddCondition(Condition.KeyNotExists(a));
        _ = first.StringSetAsync(a, "first");
        _ = first.StringSetAsync(b, "first");
        Assert.True(await first.ExecuteAsync());

        var second = db.CreateTransaction();
        second.AddCondition(Condition.KeyNotExists(a));
        var ignored = second.StringSetAsync(b, "second");
        Assert.False(await second.ExecuteAsync());
        Assert.True(ignored.IsCanceled);
        Assert.Equal("first", (string?)await db.StringGetAsync(b));

        var third = db.CreateTransaction();
        third.AddCondition(Condition.StringEqual(a, "first"));
        _ = third.StringSetAsync(b, "third");
        Assert.True(await third.ExecuteAsync());
        Assert.Equal("third", (string?)await db.StringGetAsync(b));
        // The connection is back to normal work afterwards.
        Assert.Equal("third", (string?)await db.StringGetAsync(b));
    }

    [Fact]
    public async Task PubSub_ChannelAndPattern_MessagesArriveInOrder()
    {
        await using var publisherMux = await ConnectAsync();
        await using var subscriberMux = await ConnectAsync();
        var subscriber = subscriberMux.GetSubscriber();
        var publisher = publisherMux.GetSubscriber();
        string channel = $"se:ch:{Guid.NewGuid():N}";
        string patternRoot = $"se:pat:{Guid.NewGuid():N}";

        var messages = new List<string>();
        var all = new TaskCompletionSource();
        var queue = await subscriber.SubscribeAsync(RedisChannel.Literal(channel));
        queue.OnMessage(m =>
        {
            lock (messages)
            {
                messages.Add(m.Message!);
                if (messages.Count == 20) all.TrySetResult();
            }
        });
        var viaPattern = new TaskCompletionSource<(string, string)>();
        await subscriber.SubscribeAsync(RedisChannel.Pattern(patternRoot + ":*"), (ch, m) => viaPattern.TrySetResult((ch!, m!)));

        for (int i = 0; i < 20; i++) Assert.Equal(1, await publisher.PublishAsync(RedisChannel.Literal(channel), $"m{i}"));
        await all.Task.WaitAsync(Wait);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}"), messages);

        Assert.Equal(1, await publisher.PublishAsync(RedisChannel.Literal(patternRoot + ":x"), "p"));
        Assert.Equal((patternRoot + ":x", "p"), await viaPattern.Task.WaitAsync(Wait));

        await subscriber.UnsubscribeAsync(RedisChannel.Literal(channel));
        Assert.Equal(0, await publisher.PublishAsync(RedisChannel.Literal(channel), "after"));
    }
}
