using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Pinning.BlockingCommandTests;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// Each kind of dedicated-connection use (transactions, subscribers, blocking calls) has its own share of
/// <c>pinned_connections</c> (issue #13: 128 clients in <c>BLPOP k 0</c> made every MULTI, WATCH, SUBSCRIBE and BLPOP
/// of everyone else fail). With 8 per server each kind reserves a quarter (2) and may take at most 8 - 2 - 2 = 4.
/// </summary>
public sealed class PinnedShareTests
{
    private const int Total = 8;
    private const int MostOfOneKind = Total - 2 * (Total / 4);

    public enum Kind { Transaction, Subscriber, BlockingCall }

    [Theory]
    [InlineData(Kind.BlockingCall)]
    [InlineData(Kind.Subscriber)]
    [InlineData(Kind.Transaction)]
    public async Task FloodOfOneKind_GetsOnlyItsShare_AndEveryOtherKindStillRuns(Kind flooded)
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await StartAsync(redis);
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        // Twice: the second round finds the shares exactly as the first did, so nothing stayed charged to a kind after
        // its clients left (and idle connections do not let a kind past its share).
        for (int round = 0; round < 2; round++)
        {
            using (var flood = new ClientSet(rampart.Port))
            {
                // Twice as many as the whole pool: the first get in up to the kind's share, every other one is refused.
                Assert.Equal(Enumerable.Repeat(Refusal(flooded, redis, held: MostOfOneKind, othersHold: 0), 2 * Total - MostOfOneKind),
                    await FloodAsync(flood, redis, flooded, 2 * Total, $"flood:{round}"));

                await EveryOtherKindRunsAsync(rampart.Port, redis, flooded, $"{round}");

                // Once the others gave their connections back (idle now), the flooded kind is still at its share.
                await WaitUntilAsync(() => pinned.Open - pinned.Idle == MostOfOneKind, TimeSpan.FromSeconds(10));
                var oneMore = flood.Open();
                Assert.Equal(Refusal(flooded, redis, held: MostOfOneKind, othersHold: 0), await HoldAsync(oneMore, redis, flooded, $"more:{round}"));
                if (flooded == Kind.Transaction)
                {
                    // As for any MULTI that found no connection: the rest of the transaction says so, EXEC aborts.
                    Assert.StartsWith("-ERR rampart: no dedicated connection free for a transaction", oneMore.Call("SET", "k", "v"));
                    Assert.Equal("-EXECABORT Transaction discarded because of previous errors.\r\n", oneMore.Call("EXEC"));
                }
            }
            await WaitUntilAsync(() => pinned.Open == pinned.Idle, TimeSpan.FromSeconds(10));
        }
    }

    [Theory]
    [InlineData(Kind.BlockingCall)]
    [InlineData(Kind.Subscriber)]
    public async Task BlockingCallOrSubscribeAfterWatch_CountsAgainstItsOwnKind_NotTheTransactions(Kind then)
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await StartAsync(redis);
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        using (var clients = new ClientSet(rampart.Port))
        {
            // WATCH takes a connection as a transaction; blocking or subscribing on it moves it to that kind's share.
            for (int i = 0; i < MostOfOneKind; i++)
            {
                var client = clients.Open();
                Assert.Equal("+OK\r\n", client.Call("WATCH", $"w:{i}"));
                Assert.Null(await HoldAsync(client, redis, then, $"then:{i}"));
            }

            // One more finds that kind's share taken: refused, and it keeps its WATCH, whose transaction still runs.
            var late = clients.Open();
            Assert.Equal("+OK\r\n", late.Call("WATCH", "w:late"));
            Assert.Equal(Refusal(then, redis, held: MostOfOneKind, othersHold: 1), await HoldAsync(late, redis, then, "then:late"));
            Assert.Equal("+OK\r\n", late.Call("MULTI"));
            Assert.Equal("+QUEUED\r\n", late.Call("SET", "w:late", "mine"));
            Assert.Equal("*1\r\n+OK\r\n", late.Call("EXEC"));

            // The transactions' reserve is whole: two transactions at once, each on a connection of its own.
            var first = clients.Open();
            var second = clients.Open();
            Assert.Equal("+OK\r\n", first.Call("MULTI"));
            Assert.Equal("+OK\r\n", second.Call("MULTI"));
            Assert.Equal("+QUEUED\r\n", first.Call("INCR", "both"));
            Assert.Equal("+QUEUED\r\n", second.Call("INCR", "both"));
            Assert.Equal("*1\r\n:1\r\n", first.Call("EXEC"));
            Assert.Equal("*1\r\n:2\r\n", second.Call("EXEC"));
        }
        await WaitUntilAsync(() => pinned.Open == pinned.Idle, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Resp3SubscribersTransaction_StaysOnItsSubscribedConnection_OutsideTheTransactionsShare()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await StartAsync(redis);
        using var clients = new ClientSet(rampart.Port);
        Assert.Equal([Refusal(Kind.Transaction, redis, held: MostOfOneKind, othersHold: 0)],
            await FloodAsync(clients, redis, Kind.Transaction, MostOfOneKind + 1, "tx"));

        // A subscriber's MULTI runs on the connection it already holds as a subscriber: nothing more to take.
        using var subscriber = Resp3Client.ConnectResp3(rampart.Port);
        Assert.Equal($">3\r\n{RespText.Bulk("subscribe")}{RespText.Bulk("news")}:1\r\n", subscriber.Call("SUBSCRIBE", "news"));
        Assert.Equal("+OK\r\n", subscriber.Call("MULTI"));
        Assert.Equal("+QUEUED\r\n", subscriber.Call("SET", "from-subscriber", "1"));
        Assert.Equal("*1\r\n+OK\r\n", subscriber.Call("EXEC"));
        using var publisher = Resp3Client.Connect(rampart.Port);
        Assert.Equal(":1\r\n", publisher.Call("PUBLISH", "news", "still-here"));
        Assert.Equal($">3\r\n{RespText.Bulk("message")}{RespText.Bulk("news")}{RespText.Bulk("still-here")}", subscriber.Read());
    }

    [Fact]
    public async Task PinnedReserve_SetsWhatEachKindKeeps()
    {
        using var redis = RedisServerProcess.Start();
        var pool = RampartUnderTest.Pool(redis) with
        {
            PinnedConnections = Total,
            PinnedReserve = new PinnedReserveConfig { Transactions = 1, Subscribers = 1, BlockingCalls = 0 },
        };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using var clients = new ClientSet(rampart.Port);
        Assert.Equal(
            Enumerable.Repeat($"-ERR rampart: no dedicated connection free for a blocking call on server s0 (127.0.0.1:{redis.Port}): blocking calls hold 6 of its 8 (pinned_connections), transactions and subscribers hold 0, and 2 more are reserved for them (pinned_reserve)\r\n", 2),
            await FloodAsync(clients, redis, Kind.BlockingCall, Total, "q"));
        Assert.Null(await HoldAsync(clients.Open(), redis, Kind.Transaction, ""));
        Assert.Null(await HoldAsync(clients.Open(), redis, Kind.Subscriber, "news"));
    }

    [Fact]
    public async Task PinnedReserveChange_AppliesLive_KeepingTheServerAndItsSubscribers()
    {
        using var redis = RedisServerProcess.Start();
        int port = FreePort.Next();
        string Yaml(string extra) =>
            $"alpha:\n  listen: 127.0.0.1:{port}\n  redis: true\n  pinned_connections: 4\n{extra}  servers:\n    - 127.0.0.1:{redis.Port}:1 s0\n";
        await using var rampart = await RampartFromFile.StartAsync(Yaml(""));
        var pool = Assert.Single(rampart.Server.Pools);
        var server = pool.Routing.Servers[0];
        using var clients = new ClientSet(port);
        // 4 per server: a reserve of 1 each, so blocking calls may take 2.
        var subscriber = clients.Open();
        Assert.Null(await HoldAsync(subscriber, redis, Kind.Subscriber, "news"));
        Assert.Equal(
            [$"-ERR rampart: no dedicated connection free for a blocking call on server s0 (127.0.0.1:{redis.Port}): blocking calls hold 2 of its 4 (pinned_connections), transactions and subscribers hold 1, and 1 more is reserved for them (pinned_reserve)\r\n"],
            await FloodAsync(clients, redis, Kind.BlockingCall, 3, "q"));

        var outcome = rampart.Reload(Yaml("  pinned_reserve: {transactions: 0, subscribers: 0, blocking: 0}\n"));
        Assert.True(outcome.Success, outcome.Changes);
        Assert.Contains("pinned_reserve {transactions: default, subscribers: default, blocking: default} -> {transactions: 0, subscribers: 0, blocking: 0}", outcome.Changes);
        Assert.Same(server, pool.Routing.Servers[0]);

        // Nothing reserved now: the last connection goes to the next blocking call; the subscriber never noticed.
        Assert.Null(await HoldAsync(clients.Open(), redis, Kind.BlockingCall, "q:after"));
        using var publisher = Resp3Client.Connect(port);
        Assert.Equal(":1\r\n", publisher.Call("PUBLISH", "news", "after-reload"));
        Assert.Equal($"*3\r\n{RespText.Bulk("message")}{RespText.Bulk("news")}{RespText.Bulk("after-reload")}", subscriber.Read());
    }

    /// <summary>
    /// Two transactions at once (one sent command by command, one guarded by WATCH), a subscriber and a blocking call,
    /// leaving out the flooded kind; each holds its connection while the others start, then completes.
    /// </summary>
    private static async Task EveryOtherKindRunsAsync(int port, RedisServerProcess redis, Kind flooded, string run)
    {
        using var clients = new ClientSet(port);
        var shared = clients.Open();
        string key = $"tx:{run}", watched = $"watched:{run}", channel = $"news:{run}", queue = $"jobs:{run}";
        Resp3Client? multi = null, watch = null, subscriber = null, blocked = null;
        if (flooded != Kind.Transaction)
        {
            multi = clients.Open();
            Assert.Equal("+OK\r\n", multi.Call("MULTI"));
            Assert.Equal("+QUEUED\r\n", multi.Call("SET", key, "1"));
            watch = clients.Open();
            Assert.Equal("+OK\r\n", watch.Call("WATCH", watched));
            Assert.Equal("$-1\r\n", watch.Call("GET", watched));
        }
        if (flooded != Kind.Subscriber)
        {
            subscriber = clients.Open();
            Assert.Null(await HoldAsync(subscriber, redis, Kind.Subscriber, channel));
        }
        if (flooded != Kind.BlockingCall)
        {
            blocked = clients.Open();
            Assert.Null(await HoldAsync(blocked, redis, Kind.BlockingCall, queue));
        }

        if (multi is not null && watch is not null)
        {
            Assert.Equal("*1\r\n+OK\r\n", multi.Call("EXEC"));
            Assert.Equal("+OK\r\n", watch.Call("MULTI"));
            Assert.Equal("+QUEUED\r\n", watch.Call("SET", watched, "mine"));
            Assert.Equal("*1\r\n+OK\r\n", watch.Call("EXEC"));
            Assert.Equal("$4\r\nmine\r\n", shared.Call("GET", watched));
        }
        if (subscriber is not null)
        {
            Assert.Equal(":1\r\n", shared.Call("PUBLISH", channel, "hello"));
            Assert.Equal($"*3\r\n{RespText.Bulk("message")}{RespText.Bulk(channel)}{RespText.Bulk("hello")}", subscriber.Read());
        }
        if (blocked is not null)
        {
            Assert.Equal(":1\r\n", shared.Call("RPUSH", queue, "job"));
            Assert.Equal($"*2\r\n{RespText.Bulk(queue)}{RespText.Bulk("job")}", blocked.Read());
        }
    }

    private static Task<RampartUnderTest> StartAsync(RedisServerProcess redis) =>
        RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { PinnedConnections = Total });

    /// <summary>
    /// <paramref name="count"/> new clients each start a use of <paramref name="kind"/>, one after the other; the
    /// replies of those refused, after checking that every client before the first refusal got in.
    /// </summary>
    private static async Task<List<string>> FloodAsync(ClientSet clients, RedisServerProcess redis, Kind kind, int count, string prefix)
    {
        var refusals = new List<string>();
        for (int i = 0; i < count; i++)
        {
            if (await HoldAsync(clients.Open(), redis, kind, $"{prefix}:{i}") is { } refusal) refusals.Add(refusal);
            else Assert.Empty(refusals);
        }
        return refusals;
    }

    /// <summary>
    /// Starts a use of <paramref name="kind"/> that holds a dedicated connection until the client leaves: MULTI, SUBSCRIBE
    /// <paramref name="name"/>, or BLPOP <paramref name="name"/> 0. Null when it holds one, else the reply it got instead.
    /// </summary>
    private static async Task<string?> HoldAsync(Resp3Client client, RedisServerProcess redis, Kind kind, string name)
    {
        switch (kind)
        {
            case Kind.Transaction:
                string multi = client.Call("MULTI");
                return multi == "+OK\r\n" ? null : multi;
            case Kind.Subscriber:
                string confirmation = client.Call("SUBSCRIBE", name);
                return confirmation == $"*3\r\n{RespText.Bulk("subscribe")}{RespText.Bulk(name)}:1\r\n" ? null : confirmation;
            default:
                // Blocked (Redis counts one more blocked client) or refused (a reply at once).
                int blockedBefore = BlockedClients(redis);
                client.Send("BLPOP", name, "0");
                await WaitUntilAsync(() => BlockedClients(redis) > blockedBefore || !client.IsQuietFor(0), TimeSpan.FromSeconds(10));
                return client.IsQuietFor(0) ? null : client.Read();
        }
    }

    /// <summary>The reply when <paramref name="kind"/>'s share of the 8 is taken (each other kind reserving 2).</summary>
    private static string Refusal(Kind kind, RedisServerProcess redis, int held, int othersHold)
    {
        var (one, many, others) = kind switch
        {
            Kind.Transaction => ("a transaction", "transactions", "blocking calls and subscribers"),
            Kind.Subscriber => ("a subscriber", "subscribers", "transactions and blocking calls"),
            _ => ("a blocking call", "blocking calls", "transactions and subscribers"),
        };
        int kept = 2 * (Total / 4) - othersHold;
        return $"-ERR rampart: no dedicated connection free for {one} on server s0 (127.0.0.1:{redis.Port}): {many} hold {held} of its {Total} "
            + $"(pinned_connections), {others} hold {othersHold}, and {kept} more {(kept == 1 ? "is" : "are")} reserved for them (pinned_reserve)\r\n";
    }


    /// <summary>The clients a test opened, all closed when it ends.</summary>
    private sealed class ClientSet(int port) : IDisposable
    {
        private readonly List<Resp3Client> _clients = [];

        public Resp3Client Open()
        {
            var client = Resp3Client.Connect(port);
            _clients.Add(client);
            return client;
        }

        public void Dispose()
        {
            foreach (var client in _clients) client.Dispose();
        }
    }
}
