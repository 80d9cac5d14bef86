using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Pinning.BlockingCommandTests;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>Pub/sub through dedicated connections, against real redis-servers.</summary>
public sealed class PubSubTests
{
    [Fact]
    public async Task ManySubscribers_EachGetsExactlyItsOwnMessages_InOrder()
    {
        using var redis = RedisServerProcess.Start();
        // No warm connections (pinned_min_idle: 0): the test counts every dedicated connection opened.
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { PinnedMinIdle = 0 });
        const int subscribers = 30;
        const int messages = 20;
        string run = Guid.NewGuid().ToString("N");

        var clients = new LineClient[subscribers];
        for (int s = 0; s < subscribers; s++)
        {
            clients[s] = await LineClient.ConnectAsync(rampart.Port);
            await clients[s].SendAsync("SUBSCRIBE", $"ch:{run}:{s}", $"all:{run}");
            Assert.Equal(Confirmation("subscribe", $"ch:{run}:{s}", 1), await clients[s].ReadLinesAsync(6));
            Assert.Equal(Confirmation("subscribe", $"all:{run}", 2), await clients[s].ReadLinesAsync(6));
        }
        using var publisher = await LineClient.ConnectAsync(rampart.Port);
        for (int m = 0; m < messages; m++)
            for (int s = 0; s < subscribers; s++)
            {
                await publisher.SendAsync("PUBLISH", $"ch:{run}:{s}", $"msg-{s}-{m}-{run}");
                Assert.Equal([":1"], await publisher.ReadLinesAsync(1));
            }
        await publisher.SendAsync("PUBLISH", $"all:{run}", $"everyone-{run}");
        Assert.Equal([$":{subscribers}"], await publisher.ReadLinesAsync(1));

        await Task.WhenAll(clients.Select(async (client, s) =>
        {
            for (int m = 0; m < messages; m++)
                Assert.Equal(Message($"ch:{run}:{s}", $"msg-{s}-{m}-{run}"), await client.ReadLinesAsync(7));
            Assert.Equal(Message($"all:{run}", $"everyone-{run}"), await client.ReadLinesAsync(7));
        })).WaitAsync(TimeSpan.FromSeconds(20));
        foreach (var client in clients) client.Dispose();

        // Subscribers that left gave their connections back clean (unsubscribed) for reuse.
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        await WaitUntilAsync(() => pinned.Idle == pinned.Open && pinned.Open == subscribers, TimeSpan.FromSeconds(5));
        using var direct = RespTestClient.ConnectTcp(redis.Port);
        Assert.Equal("0", Replies.Array(direct.Call("PUBSUB", "NUMSUB", $"all:{run}"))[1]);
    }

    [Fact]
    public async Task SubscribedMode_AllowsOnlyWhatRedisAllows_ThenUnsubscribeReturnsToNormal()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        // Unsubscribing when subscribed to nothing: Redis's confirmation, count 0.
        Assert.Equal(["unsubscribe", "(nil)", "0"], Replies.Array(client.Call("UNSUBSCRIBE")));
        Assert.Equal(["psubscribe", "news.*", "1"], Replies.Array(client.Call("PSUBSCRIBE", "news.*")));
        Assert.Equal(["subscribe", "alerts", "2"], Replies.Array(client.Call("SUBSCRIBE", "alerts")));
        Assert.Equal("-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            client.Ask("GET", "x"));
        Assert.Equal("-ERR Can't execute 'client|setname': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            client.Ask("CLIENT", "SETNAME", "x"));
        Assert.Equal(["pong", ""], Replies.Array(client.Call("PING")));
        using (var publisher = RespTestClient.ConnectTcp(rampart.Port))
            Assert.Equal("1", publisher.Ask("PUBLISH", "news.today", "hello"));
        Assert.Equal(["pmessage", "news.*", "news.today", "hello"], Replies.Array(client.ReadReply()));
        Assert.Equal(["punsubscribe", "news.*", "1"], Replies.Array(client.Call("PUNSUBSCRIBE")));
        Assert.Equal(["unsubscribe", "alerts", "0"], Replies.Array(client.Call("UNSUBSCRIBE", "alerts")));
        Assert.Equal("OK", client.Ask("SET", "x", "back"));
        Assert.Equal("back", client.Ask("GET", "x"));

        // RESET leaves subscribed mode at once.
        Assert.Equal(["subscribe", "alerts", "1"], Replies.Array(client.Call("SUBSCRIBE", "alerts")));
        Assert.Equal("RESET", client.Ask("RESET"));
        Assert.Equal("back", client.Ask("GET", "x"));
        using var direct = RespTestClient.ConnectTcp(redis.Port);
        await WaitUntilAsync(() => Replies.Array(direct.Call("PUBSUB", "NUMSUB", "alerts"))[1] == "0", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task DroppedDedicatedConnection_IsResubscribedTransparently_AndCounted()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var subscriber = await LineClient.ConnectAsync(rampart.Port);
        using var publisher = RespTestClient.ConnectTcp(rampart.Port);
        await subscriber.SendAsync("SUBSCRIBE", "a", "b");
        await subscriber.ReadLinesAsync(12);
        await subscriber.SendAsync("PSUBSCRIBE", "p.*");
        await subscriber.ReadLinesAsync(6);
        Assert.Equal("1", publisher.Ask("PUBLISH", "a", "before"));
        Assert.Equal(Message("a", "before"), await subscriber.ReadLinesAsync(7));

        using (var direct = RespTestClient.ConnectTcp(redis.Port))
            Assert.Equal("1", Replies.Text(direct.Call("CLIENT", "KILL", "TYPE", "pubsub")));
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        await WaitUntilAsync(() => pinned.Resubscribes == 1, TimeSpan.FromSeconds(10));
        await WaitUntilAsync(() => publisher.Ask("PUBLISH", "b", "probe") == "1", TimeSpan.FromSeconds(10));
        Assert.Equal("1", publisher.Ask("PUBLISH", "p.x", "after"));
        // The client sees no confirmation again, only messages (the probes first).
        string[] lines;
        do lines = await subscriber.ReadLinesAsync(7);
        while (lines[2] == "message" && lines[6] == "probe");
        Assert.Equal(["*4", "$8", "pmessage", "$3", "p.*", "$3", "p.x"], lines);
        Assert.Equal(["$5", "after"], await subscriber.ReadLinesAsync(2));
    }

    [Fact]
    public async Task ShardedPool_PlainChannelsOnTheFirstServer_ShardChannelsOnTheirKeysServer()
    {
        var servers = new[] { RedisServerProcess.Start(), RedisServerProcess.Start(), RedisServerProcess.Start() };
        try
        {
            var pool = RampartUnderTest.Pool(servers) with { HashTag = "{}" };
            var router = KeyRouter.Create(pool);
            await using var rampart = await RampartUnderTest.StartAsync(pool);
            string run = Guid.NewGuid().ToString("N");

            // Plain channels and patterns: all on the first server; PUBLISH goes there too.
            using var plain = RespTestClient.ConnectTcp(rampart.Port);
            Assert.Equal(["subscribe", $"p:{run}", "1"], Replies.Array(plain.Call("SUBSCRIBE", $"p:{run}")));
            Assert.Equal(["psubscribe", $"p:{run}*", "2"], Replies.Array(plain.Call("PSUBSCRIBE", $"p:{run}*")));
            for (int s = 0; s < servers.Length; s++)
            {
                using var direct = RespTestClient.ConnectTcp(servers[s].Port);
                Assert.Equal(s == 0 ? "1" : "0", Replies.Array(direct.Call("PUBSUB", "NUMSUB", $"p:{run}"))[1]);
            }
            using var publisher = RespTestClient.ConnectTcp(rampart.Port);
            Assert.Equal("2", publisher.Ask("PUBLISH", $"p:{run}", "plain")); // the channel and the pattern
            Assert.Equal(["message", $"p:{run}", "plain"], Replies.Array(plain.ReadReply()));
            Assert.Equal(["pmessage", $"p:{run}*", $"p:{run}", "plain"], Replies.Array(plain.ReadReply()));
            Assert.Equal("1", publisher.Ask("PUBSUB", "NUMPAT"));

            // Shard channels: hashed like keys, on the server that owns the name; SPUBLISH follows the same rule.
            var (a, b) = ShardedTransactionTests.KeysOnDifferentServers(router);
            using var sharded = RespTestClient.ConnectTcp(rampart.Port);
            Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", sharded.Ask("SSUBSCRIBE", a, b));
            Assert.Equal(["ssubscribe", b, "1"], Replies.Array(sharded.Call("SSUBSCRIBE", b)));
            Assert.Equal(["ssubscribe", "{" + b + "}:2", "2"], Replies.Array(sharded.Call("SSUBSCRIBE", "{" + b + "}:2")));
            int owner = router.ServerFor(System.Text.Encoding.UTF8.GetBytes(b));
            for (int s = 0; s < servers.Length; s++)
            {
                using var direct = RespTestClient.ConnectTcp(servers[s].Port);
                Assert.Equal(s == owner ? "1" : "0", Replies.Array(direct.Call("PUBSUB", "SHARDNUMSUB", b))[1]);
            }
            Assert.Equal("1", publisher.Ask("SPUBLISH", b, "sharded"));
            Assert.Equal(["smessage", b, "sharded"], Replies.Array(sharded.ReadReply()));
            Assert.Equal("0", publisher.Ask("SPUBLISH", a, "nobody"));
            // A shard channel of another server on the same subscriber: refused (one dedicated connection per client).
            Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", sharded.Ask("SSUBSCRIBE", a));
        }
        finally
        {
            foreach (var s in servers) s.Dispose();
        }
    }

    [Fact]
    public async Task ShardedPool_PubsubShardChannelsAndShardNumSub_AnswerForThePoolAsTheServersDo()
    {
        var servers = new[] { RedisServerProcess.Start(), RedisServerProcess.Start(), RedisServerProcess.Start() };
        var subscribers = new List<RespTestClient>();
        try
        {
            var pool = RampartUnderTest.Pool(servers);
            var router = KeyRouter.Create(pool);
            await using var rampart = await RampartUnderTest.StartAsync(pool);
            string run = Guid.NewGuid().ToString("N");
            // One shard channel per server (hashed like keys), each with a subscriber through Rampart; the first twice.
            var channels = new string[servers.Length];
            for (int i = 0, found = 0; found < servers.Length; i++)
            {
                string name = $"s-{run}-{i}";
                int owner = router.ServerFor(System.Text.Encoding.UTF8.GetBytes(name));
                if (channels[owner] is not null) continue;
                channels[owner] = name;
                found++;
            }
            foreach (var channel in channels.Append(channels[0]))
            {
                var subscriber = RespTestClient.ConnectTcp(rampart.Port);
                subscribers.Add(subscriber);
                Assert.Equal("ssubscribe", Replies.Array(subscriber.Call("SSUBSCRIBE", channel))[0]);
            }
            using var client = RespTestClient.ConnectTcp(rampart.Port);

            // SHARDCHANNELS: what each server lists, together, each channel once (a pattern keeps other tests' out).
            var listed = Replies.Array(client.Call("PUBSUB", "SHARDCHANNELS", $"s-{run}-*"));
            Assert.Equal(channels.Order(), listed.Order());
            var direct = new List<string>();
            foreach (var server in servers)
            {
                using var node = RespTestClient.ConnectTcp(server.Port);
                direct.AddRange(Replies.Array(node.Call("PUBSUB", "SHARDCHANNELS", $"s-{run}-*")));
            }
            Assert.Equal(direct.Order(), listed.Order());
            Assert.Contains(channels[1], Replies.Array(client.Call("PUBSUB", "SHARDCHANNELS")));

            // SHARDNUMSUB: each channel's count from its own server, in the order asked, unknown channels 0.
            string nobody = $"s-{run}-nobody";
            Assert.Equal(
                [channels[2], "1", nobody, "0", channels[0], "2", channels[1], "1"],
                Replies.Array(client.Call("PUBSUB", "SHARDNUMSUB", channels[2], nobody, channels[0], channels[1])));
            Assert.Equal([channels[1], "1"], Replies.Array(client.Call("PUBSUB", "SHARDNUMSUB", channels[1])));
            Assert.Empty(Replies.Array(client.Call("PUBSUB", "SHARDNUMSUB")));
        }
        finally
        {
            foreach (var subscriber in subscribers) subscriber.Dispose();
            foreach (var s in servers) s.Dispose();
        }
    }

    internal static string[] Confirmation(string kind, string channel, int count) =>
        ["*3", $"${kind.Length}", kind, $"${channel.Length}", channel, $":{count}"];

    internal static string[] Message(string channel, string payload) =>
        ["*3", "$7", "message", $"${channel.Length}", channel, $"${payload.Length}", payload];
}
