using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Integration;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>StackExchange.Redis transactions and pub/sub with its defaults, in front of one server.</summary>
public sealed class StackExchangeRedisStatefulSingleServerTests(ProxiedRedisFixture fixture)
    : StackExchangeRedisStatefulTests(fixture.Rampart), IClassFixture<ProxiedRedisFixture>;

/// <summary>The same through a 3-server pool: a transaction's keys share a hash tag.</summary>
public sealed class StackExchangeRedisStatefulShardedTests(ShardedPoolFixture fixture)
    : StackExchangeRedisStatefulTests(fixture.Rampart), IClassFixture<ShardedPoolFixture>;

/// <summary>
/// What StackExchange.Redis does with connection state, through Rampart's dedicated connections: transactions with
/// and without conditions (WATCH, MULTI, EXEC) and subscriptions on its subscription connection.
/// </summary>
public abstract class StackExchangeRedisStatefulTests(RampartUnderTest rampart)
{
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
        await using var mux = await ConnectionMultiplexer.ConnectAsync(rampart.Endpoint);
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
        await using var mux = await ConnectionMultiplexer.ConnectAsync(rampart.Endpoint);
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
        await using var publisherMux = await ConnectionMultiplexer.ConnectAsync(rampart.Endpoint);
        await using var subscriberMux = await ConnectionMultiplexer.ConnectAsync(rampart.Endpoint);
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
