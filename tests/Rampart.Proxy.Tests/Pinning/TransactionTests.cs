using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>MULTI/EXEC/DISCARD/WATCH/UNWATCH on dedicated connections, against real redis-servers.</summary>
public sealed class TransactionTests
{
    [Fact]
    public async Task MultiExec_RunsAtomically_AndRedisAnswersItsOwnErrors()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("-ERR EXEC without MULTI", client.Ask("EXEC"));
        Assert.Equal("-ERR DISCARD without MULTI", client.Ask("DISCARD"));
        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("-ERR MULTI calls can not be nested", client.Ask("MULTI"));
        Assert.Equal("-ERR WATCH inside MULTI is not allowed", client.Ask("WATCH", "k"));
        Assert.Equal("QUEUED", client.Ask("INCR", "counter"));
        Assert.Equal("QUEUED", client.Ask("INCR", "counter"));
        Assert.Equal("QUEUED", client.Ask("PING"));
        Assert.Equal(["1", "2", "PONG"], Replies.Array(client.Call("EXEC")));
        Assert.Equal("2", client.Ask("GET", "counter"));

        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("QUEUED", client.Ask("SET", "counter", "99"));
        Assert.Equal("OK", client.Ask("DISCARD"));
        Assert.Equal("2", client.Ask("GET", "counter"));
    }

    [Fact]
    public async Task ErrorWhileQueueing_AbortsWithExecAbort()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("QUEUED", client.Ask("SET", "a", "1"));
        Assert.StartsWith("-ERR unknown command 'NOSUCH'", client.Ask("NOSUCH"));
        Assert.Equal("-ERR wrong number of arguments for 'get' command", client.Ask("GET"));
        Assert.StartsWith("-ERR 'CONFIG SET' is not supported", client.Ask("CONFIG", "SET", "maxmemory", "1"));
        Assert.Equal("QUEUED", client.Ask("SET", "b", "2"));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", client.Ask("EXEC"));
        Assert.Equal("0", client.Ask("EXISTS", "a", "b"));
        Assert.Equal("0", Replies.Text(RespFromServer(redis, "EXISTS", "a", "b")));
    }

    [Fact]
    public async Task Watch_DetectsAConcurrentWrite()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        using var other = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("OK", client.Ask("SET", "balance", "10"));
        Assert.Equal("OK", client.Ask("WATCH", "balance"));
        Assert.Equal("10", client.Ask("GET", "balance"));
        Assert.Equal("OK", other.Ask("SET", "balance", "50")); // another client, on the shared connection
        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("QUEUED", client.Ask("SET", "balance", "11"));
        Assert.Null(client.Call("EXEC")); // nil: the watched key changed
        Assert.Equal("50", client.Ask("GET", "balance"));

        // Without interference the same transaction runs, and UNWATCH ends a WATCH.
        Assert.Equal("OK", client.Ask("WATCH", "balance"));
        Assert.Equal("OK", client.Ask("UNWATCH"));
        Assert.Equal("OK", client.Ask("WATCH", "balance"));
        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("QUEUED", client.Ask("INCR", "balance"));
        Assert.Equal(["51"], Replies.Array(client.Call("EXEC")));
    }

    [Fact]
    public async Task ManyConcurrentTransactions_EachGetsItsOwnResults_AndConnectionsAreReused()
    {
        using var redis = RedisServerProcess.Start();
        // Every dedicated connection for transactions: nothing kept for subscribers or blocking calls (pinned_reserve).
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with
        {
            PinnedConnections = 16,
            PinnedReserve = new PinnedReserveConfig { Subscribers = 0, BlockingCalls = 0 },
        });
        const int clients = 40;
        const int rounds = 30;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        int exhausted = 0;
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(() =>
        {
            using var client = RespTestClient.ConnectTcp(rampart.Port);
            for (int r = 0; r < rounds && DateTime.UtcNow < deadline; r++)
            {
                string key = $"tx:{c}:{r}";
                string value = $"{c}-{r}-{Guid.NewGuid():N}";
                // Pipelined, as client libraries send a transaction: MULTI, commands, EXEC in one write. ECHO is
                // answered by Rampart outside transactions, so this one takes a dedicated connection.
                client.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", key, value),
                    .. RespTestClient.Command("GET", key), .. RespTestClient.Command("ECHO", value), .. RespTestClient.Command("EXEC")]);
                string? multi = Replies.Text(client.ReadReply());
                if (multi!.StartsWith("-ERR rampart: no dedicated connection free"))
                {
                    // More concurrent transactions than pinned_connections: every part of this one says so.
                    for (int i = 0; i < 3; i++) Assert.StartsWith("-ERR rampart", Replies.Text(client.ReadReply()));
                    Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", Replies.Text(client.ReadReply()));
                    Interlocked.Increment(ref exhausted);
                    continue;
                }
                Assert.Equal("OK", multi);
                Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
                Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
                Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
                Assert.Equal(["OK", value, value], Replies.Array(client.ReadReply()));
                Assert.Equal(value, client.Ask("GET", key));
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        Assert.InRange(pinned.Open, 1, 16);
        Assert.InRange(pinned.Opened, 1, 16 + 5); // reused, not one connection per transaction
        Assert.True(exhausted < clients * rounds / 2, $"{exhausted} transactions found no free connection");
    }

    [Fact]
    public async Task WholeTransactions_GoOnTheSharedConnection_WithoutCapturingOtherClientsCommands()
    {
        using var redis = RedisServerProcess.Start();
        // No warm dedicated connections: the count at the end is then of those the transactions needed.
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { PinnedMinIdle = 0 });
        const int clients = 30;
        const int rounds = 40;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        // Half the clients send whole transactions, half plain commands, all on the same shared connection: a plain
        // command caught inside someone's MULTI would answer QUEUED, and a transaction would return foreign results.
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            using var client = await BlockingCommandTests.LineClient.ConnectAsync(rampart.Port);
            for (int r = 0; r < rounds && DateTime.UtcNow < deadline; r++)
            {
                string key = $"whole:{c}:{r}";
                string value = $"{c}-{r}-{Guid.NewGuid():N}";
                if (c % 2 == 0)
                {
                    await client.SendRawAsync([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", key, value),
                        .. RespTestClient.Command("INCR", "whole:total"), .. RespTestClient.Command("GET", key), .. RespTestClient.Command("EXEC")]);
                    Assert.Equal(["+OK", "+QUEUED", "+QUEUED", "+QUEUED", "*3", "+OK"], await client.ReadLinesAsync(6));
                    Assert.StartsWith(":", (await client.ReadLinesAsync(1))[0]);
                    Assert.Equal([$"${value.Length}", value], await client.ReadLinesAsync(2));
                }
                else
                {
                    await client.SendRawAsync([.. RespTestClient.Command("SET", key, value), .. RespTestClient.Command("GET", key)]);
                    Assert.Equal(["+OK", $"${value.Length}", value], await client.ReadLinesAsync(3));
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        using var check = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal((clients / 2 * rounds).ToString(), check.Ask("GET", "whole:total"));
        // No dedicated connection was needed.
        Assert.Equal(0, rampart.Server.GetPool("test").Routing.Default.Pinned.Opened);
    }

    [Fact]
    public async Task ServerDyingDuringAWholeTransaction_AnswersEveryPartWithAnError()
    {
        var redis = RedisServerProcess.Start();
        try
        {
            await using var rampart = await RampartUnderTest.StartAsync(redis);
            using var client = RespTestClient.ConnectTcp(rampart.Port);
            Assert.Equal("OK", client.Ask("SET", "warm", "1"));
            // The script keeps EXEC busy for 3 s after +OK and +QUEUED have arrived; the server dies meanwhile.
            const string busy = "local t = redis.call('TIME'); while true do local n = redis.call('TIME'); if n[1] - t[1] >= 3 then break end end return 1";
            client.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("EVAL", busy, "0"), .. RespTestClient.Command("EXEC")]);
            await Task.Delay(500);
            redis.Kill();
            for (int i = 0; i < 3; i++)
                Assert.StartsWith("-ERR rampart: connection to server", Replies.Text(client.ReadReply()));
        }
        finally
        {
            redis.Dispose();
        }
    }

    [Fact]
    public async Task DedicatedConnectionDyingMidTransaction_GivesErrors_NeverAWrongReply()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("QUEUED", client.Ask("SET", "doomed", "1"));
        // Kill the dedicated connection on the server side: the one in a transaction (flags=x).
        string list = Replies.Text(RespFromServer(redis, "CLIENT", "LIST"))!;
        string id = list.Split('\n').First(l => l.Contains("flags=x")).Split(' ')[0]["id=".Length..];
        Assert.Equal("1", Replies.Text(RespFromServer(redis, "CLIENT", "KILL", "ID", id)));
        await Task.Delay(200);

        Assert.StartsWith("-ERR rampart: connection to server", client.Ask("SET", "doomed", "2"));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", client.Ask("EXEC"));
        Assert.Null(client.Call("GET", "doomed"));
        // The client is back on the shared path and a new transaction works.
        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("QUEUED", client.Ask("SET", "doomed", "3"));
        Assert.Equal(["OK"], Replies.Array(client.Call("EXEC")));
    }

    [Fact]
    public async Task ExhaustedPool_GivesAClearError_AndFreesUpAfterExec()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { PinnedConnections = 1 });
        using var first = RespTestClient.ConnectTcp(rampart.Port);
        using var second = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("OK", first.Ask("WATCH", "x"));
        // One connection, so nothing reserved: whichever kind comes first takes it.
        Assert.Equal("-ERR rampart: no dedicated connection free for a blocking call on server s0 (127.0.0.1:" + redis.Port
            + "): blocking calls hold 0 of its 1 (pinned_connections), transactions and subscribers hold 1", second.Ask("BLPOP", "q", "1"));
        Assert.Equal("OK", first.Ask("UNWATCH"));
        Assert.Null(second.Call("BLPOP", "q", "0.1"));
    }

    [Fact]
    public async Task ClientLeavingInMulti_WhileTheServerIsFrozen_FreesItsPoolSlotAfterTheCleanTimeout()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { PinnedConnections = 1 });
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        pinned.CleanTimeoutMs = 500;
        try
        {
            using (var leaver = RespTestClient.ConnectTcp(rampart.Port))
            {
                Assert.Equal("OK", leaver.Ask("MULTI")); // sent alone: a dedicated connection
                Assert.Equal(1, pinned.Open);
                redis.Freeze();
            } // leaves mid-transaction: Rampart sends DISCARD/UNWATCH/PING, which the frozen server never answers

            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (pinned.Open != 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.Equal(0, pinned.Open);
        }
        finally
        {
            redis.Thaw();
        }
        // The slot is free again: a new transaction gets a dedicated connection.
        using var next = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal("OK", next.Ask("MULTI"));
        Assert.Equal("QUEUED", next.Ask("SET", "after-freeze", "1"));
        Assert.Equal(["OK"], Replies.Array(next.Call("EXEC")));
    }

    [Fact]
    public async Task ClientLeavingSubscribedWithAWatch_LeavesNoWatchOnTheConnectionTheNextClientGets()
    {
        // In RESP2 subscribed mode Redis refuses UNWATCH: the clean-up must unsubscribe first, or the WATCH survives
        // into the idle pool and the next client's EXEC fails because of a key it never watched.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { PinnedConnections = 1 });
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        using (var leaver = RespTestClient.ConnectTcp(rampart.Port))
        {
            Assert.Equal("OK", leaver.Ask("WATCH", "watched-by-leaver"));
            Assert.Equal("subscribe", Replies.Array(leaver.Call("SUBSCRIBE", "leaving"))[0]);
        }
        await Poll.WaitUntilAsync(() => pinned.Idle == 1, TimeSpan.FromSeconds(10)); // cleaned and back
        Assert.Equal("OK", Replies.Text(RespFromServer(redis, "SET", "watched-by-leaver", "changed")));

        using var next = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal("OK", next.Ask("MULTI")); // sent alone: the dedicated connection, the only one in the pool
        Assert.Equal("QUEUED", next.Ask("SET", "fresh", "1"));
        Assert.Equal(["OK"], Replies.Array(next.Call("EXEC")));
    }

    [Fact]
    public async Task WatchMadeBeforeSubscribe_StillHoldsAfterUnsubscribe_AsOnRedis()
    {
        // The subscription ends but the WATCH does not: the client keeps its dedicated connection, and its EXEC fails
        // because the watched key changed, exactly as on a direct connection.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { PinnedConnections = 1 });
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal("OK", client.Ask("WATCH", "watched-across"));
        Assert.Equal("subscribe", Replies.Array(client.Call("SUBSCRIBE", "briefly"))[0]);
        Assert.Equal("unsubscribe", Replies.Array(client.Call("UNSUBSCRIBE"))[0]);
        Assert.Equal(0, pinned.Idle); // still held: the WATCH is state
        Assert.Equal("OK", Replies.Text(RespFromServer(redis, "SET", "watched-across", "changed")));
        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("QUEUED", client.Ask("SET", "guarded", "1"));
        Assert.Null(client.Call("EXEC"));
    }

    private static object? RespFromServer(RedisServerProcess server, params string[] args)
    {
        using var direct = RespTestClient.ConnectTcp(server.Port);
        return direct.Call(args);
    }
}

/// <summary>Transactions in a pool of three servers: every key must live on the first key's server.</summary>
public sealed class ShardedTransactionTests
{
    [Fact]
    public async Task KeysOnOneShard_Commit_OtherwiseCrossSlotAndExecAbort()
    {
        var servers = new[] { RedisServerProcess.Start(), RedisServerProcess.Start(), RedisServerProcess.Start() };
        try
        {
            var pool = RampartUnderTest.Pool(servers) with { HashTag = "{}" };
            var router = KeyRouter.Create(pool);
            await using var rampart = await RampartUnderTest.StartAsync(pool);
            using var client = RespTestClient.ConnectTcp(rampart.Port);

            // Hash tags keep a user's keys together.
            Assert.Equal("OK", client.Ask("MULTI"));
            Assert.Equal("QUEUED", client.Ask("PING")); // keyless before the first key: held, then sent
            Assert.Equal("QUEUED", client.Ask("SET", "{user1}:name", "ann"));
            Assert.Equal("QUEUED", client.Ask("INCR", "{user1}:visits"));
            Assert.Equal(["PONG", "OK", "1"], Replies.Array(client.Call("EXEC")));
            int owner = router.ServerFor("{user1}:name"u8.ToArray());
            Assert.Contains("ann", servers[owner].Send(RespText.Command("GET", "{user1}:name")));

            // Two keys on different servers: CROSSSLOT, and the whole transaction is discarded.
            var (a, b) = KeysOnDifferentServers(router);
            Assert.Equal("OK", client.Ask("MULTI"));
            Assert.Equal("QUEUED", client.Ask("SET", a, "1"));
            Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", client.Ask("SET", b, "2"));
            Assert.Equal("QUEUED", client.Ask("SET", "{" + a + "}x", "3"));
            Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", client.Ask("EXEC"));
            foreach (var server in servers)
                Assert.Equal(":0\r\n", server.Send(RespText.Command("EXISTS", a, b, "{" + a + "}x")));

            // A multi-key command across servers inside MULTI is refused the same way.
            Assert.Equal("OK", client.Ask("MULTI"));
            Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", client.Ask("MGET", a, b));
            Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", client.Ask("EXEC"));

            // Pipelined whole: on the owner's shared connection; across servers: the pinned path's CROSSSLOT.
            client.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", "{user2}:a", "x"),
                .. RespTestClient.Command("APPEND", "{user2}:a", "y"), .. RespTestClient.Command("EXEC")]);
            Assert.Equal("OK", Replies.Text(client.ReadReply()));
            Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
            Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
            Assert.Equal(["OK", "2"], Replies.Array(client.ReadReply()));
            Assert.Contains("xy", servers[router.ServerFor("{user2}:a"u8.ToArray())].Send(RespText.Command("GET", "{user2}:a")));
            long opened = rampart.Server.GetPool("test").Routing.Servers.Sum(s => s.Pinned.Opened);
            client.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", a, "1"),
                .. RespTestClient.Command("SET", b, "2"), .. RespTestClient.Command("EXEC")]);
            Assert.Equal("OK", Replies.Text(client.ReadReply()));
            Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
            Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", Replies.Text(client.ReadReply()));
            Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", Replies.Text(client.ReadReply()));
            Assert.True(rampart.Server.GetPool("test").Routing.Servers.Sum(s => s.Pinned.Opened) >= opened);

            // WATCH binds the transaction to its key's server too.
            Assert.Equal("OK", client.Ask("WATCH", a));
            Assert.Equal("OK", client.Ask("MULTI"));
            Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", client.Ask("SET", b, "1"));
            Assert.Equal("-EXECABORT Transaction discarded because of previous errors.", client.Ask("EXEC"));
            Assert.Equal("OK", client.Ask("SET", b, "after")); // back on the shared path
            Assert.Equal("after", client.Ask("GET", b));
        }
        finally
        {
            foreach (var s in servers) s.Dispose();
        }
    }

    internal static (string A, string B) KeysOnDifferentServers(KeyRouter router)
    {
        int first = router.ServerFor("k0"u8.ToArray());
        for (int i = 1; ; i++)
        {
            string key = $"k{i}";
            if (router.ServerFor(System.Text.Encoding.UTF8.GetBytes(key)) != first) return ("k0", key);
        }
    }
}
