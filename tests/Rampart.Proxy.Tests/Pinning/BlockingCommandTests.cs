using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>Blocking commands run on dedicated connections, so a blocked client never stalls the shared one.</summary>
public sealed class BlockingCommandTests
{
    [Fact]
    public async Task FiftyBlockedClients_DoNotStallTwoHundredOthers_ThenEachGetsItsOwnValue()
    {
        using var redis = RedisServerProcess.Start();
        // No warm connections (pinned_min_idle: 0): the test counts every dedicated connection opened.
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { PinnedMinIdle = 0 });
        const int blockers = 50;
        const int others = 200;
        const int rounds = 20;
        string run = Guid.NewGuid().ToString("N");

        // Async clients throughout: Rampart runs in this process, and 250 threads blocked in synchronous reads would
        // starve the thread pool it shares with them.
        // 50 clients block on their own list (60 s server-side timeout, far beyond the test's own bound).
        var blocked = Enumerable.Range(0, blockers).Select(async b =>
        {
            using var client = await LineClient.ConnectAsync(rampart.Port);
            await client.SendAsync("BLPOP", $"queue:{run}:{b}", "60");
            return await client.ReadLinesAsync(5); // *2, $len, key, $len, value
        }).ToArray();
        await WaitUntilAsync(() => BlockedClients(redis) == blockers, TimeSpan.FromSeconds(20));

        // 200 clients do GET/SET on the shared connection and must finish while the 50 are still blocked.
        var shared = Enumerable.Range(0, others).Select(async c =>
        {
            using var client = await LineClient.ConnectAsync(rampart.Port);
            for (int r = 0; r < rounds; r++)
            {
                string key = $"shared:{run}:{c}:{r}";
                string value = $"{c}-{r}-{Guid.NewGuid():N}";
                await client.SendAsync("SET", key, value);
                Assert.Equal(["+OK"], await client.ReadLinesAsync(1));
                await client.SendAsync("GET", key);
                Assert.Equal([$"${value.Length}", value], await client.ReadLinesAsync(2));
            }
        }).ToArray();
        await Task.WhenAll(shared).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(blocked, t => Assert.False(t.IsCompleted));
        Assert.Equal(blockers, BlockedClients(redis));

        // Unblock each with a value only it may receive.
        using (var pusher = await LineClient.ConnectAsync(rampart.Port))
            for (int b = 0; b < blockers; b++)
            {
                await pusher.SendAsync("RPUSH", $"queue:{run}:{b}", $"value-{b}-{run}");
                Assert.Equal([":1"], await pusher.ReadLinesAsync(1));
            }
        var results = await Task.WhenAll(blocked).WaitAsync(TimeSpan.FromSeconds(20));
        for (int b = 0; b < blockers; b++)
            Assert.Equal(["*2", $"${$"queue:{run}:{b}".Length}", $"queue:{run}:{b}", $"${$"value-{b}-{run}".Length}", $"value-{b}-{run}"], results[b]);

        // The dedicated connections went back to the pool, clean, for reuse.
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        await WaitUntilAsync(() => pinned.Idle == pinned.Open, TimeSpan.FromSeconds(5));
        Assert.Equal(blockers, pinned.Open);
    }

    [Fact]
    public async Task EveryBlockingCommand_RunsAndTimesOutLikeRedis()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = RespTestClient.ConnectTcp(rampart.Port);

        Assert.Equal("2", client.Ask("RPUSH", "src", "a", "b"));
        Assert.Equal(["src", "a"], Replies.Array(client.Call("BLPOP", "src", "1")));
        Assert.Equal(["src", "b"], Replies.Array(client.Call("BRPOP", "src", "0.1")));
        Assert.Null(client.Call("BRPOP", "src", "0.1"));
        Assert.Equal("1", client.Ask("RPUSH", "src", "c"));
        Assert.Equal("c", client.Ask("BLMOVE", "src", "dst", "LEFT", "RIGHT", "1"));
        Assert.Equal("c", client.Ask("BRPOPLPUSH", "dst", "src", "1"));
        Assert.Equal(["src", "[c]"], Flatten(client.Call("BLMPOP", "1", "1", "src", "LEFT")));
        Assert.Equal("2", client.Ask("ZADD", "z", "1", "one", "2", "two"));
        Assert.Equal(["z", "one", "1"], Replies.Array(client.Call("BZPOPMIN", "z", "1")));
        Assert.Equal(["z", "two", "2"], Replies.Array(client.Call("BZPOPMAX", "z", "1")));
        Assert.Null(client.Call("BZMPOP", "0.1", "1", "z", "MIN"));
        Assert.StartsWith("1", client.Ask("XADD", "s", "1-1", "f", "v"));
        Assert.NotNull(client.Call("XREAD", "BLOCK", "100", "STREAMS", "s", "0"));
        Assert.Null(client.Call("XREAD", "BLOCK", "100", "STREAMS", "s", "$"));
        Assert.Equal("OK", client.Ask("XGROUP", "CREATE", "s", "g", "0"));
        Assert.NotNull(client.Call("XREADGROUP", "GROUP", "g", "c", "BLOCK", "100", "STREAMS", "s", ">"));
        Assert.Equal("0", client.Ask("WAIT", "0", "100")); // no replicas
        // Between blocking calls the client is on the shared path as before.
        Assert.Equal("OK", client.Ask("SET", "after", "1"));
    }

    [Fact]
    public async Task PipelinedAfterABlockingCall_RunsAfterIt_InOrder()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        using var other = RespTestClient.ConnectTcp(rampart.Port);

        client.Send(RespTestClient.Command("BLPOP", "jobs", "5"));
        client.Send(RespTestClient.Command("LLEN", "jobs"));
        client.Send(RespTestClient.Command("GET", "marker"));
        await WaitUntilAsync(() => BlockedClients(redis) == 1, TimeSpan.FromSeconds(5));
        Assert.Equal("OK", other.Ask("SET", "marker", "set-while-blocked"));
        Assert.Equal("2", other.Ask("RPUSH", "jobs", "j1", "j2"));
        Assert.Equal(["jobs", "j1"], Replies.Array(client.ReadReply()));
        Assert.Equal("1", Replies.Text(client.ReadReply())); // after the pop, not before it
        Assert.Equal("set-while-blocked", Replies.Text(client.ReadReply()));
    }

    [Fact]
    public async Task BlockingCallsInAShardedPool_GoToTheKeysServer_AndMustNotSpanServers()
    {
        var servers = new[] { RedisServerProcess.Start(), RedisServerProcess.Start(), RedisServerProcess.Start() };
        try
        {
            var pool = RampartUnderTest.Pool(servers) with { HashTag = "{}" };
            var router = Rampart.Proxy.Routing.KeyRouter.Create(pool);
            await using var rampart = await RampartUnderTest.StartAsync(pool);
            using var client = RespTestClient.ConnectTcp(rampart.Port);
            var (a, b) = ShardedTransactionTests.KeysOnDifferentServers(router);
            Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", client.Ask("BLPOP", a, b, "1"));
            Assert.Equal("1", client.Ask("RPUSH", b, "x"));
            Assert.Equal([b, "x"], Replies.Array(client.Call("BLPOP", b, "1")));
            Assert.Equal("1", client.Ask("RPUSH", "{" + a + "}:src", "y"));
            Assert.Equal("y", client.Ask("BLMOVE", "{" + a + "}:src", "{" + a + "}:dst", "LEFT", "LEFT", "1"));
            int owner = router.ServerFor(System.Text.Encoding.UTF8.GetBytes(a));
            Assert.Contains("y", servers[owner].Send(RespText.Command("LPOP", "{" + a + "}:dst")));
        }
        finally
        {
            foreach (var s in servers) s.Dispose();
        }
    }

    private static string[] Flatten(object? reply) => reply is object?[] items
        ? items.Select(i => i is object?[] inner ? "[" + string.Join(",", Replies.Array(inner)) + "]" : Replies.Text(i) ?? "(nil)").ToArray()
        : throw new InvalidOperationException("not an array");

    /// <summary>An async line-oriented RESP client, for tests with hundreds of concurrent clients.</summary>
    internal sealed class LineClient : IDisposable
    {
        private readonly System.Net.Sockets.Socket _socket;
        private readonly System.Net.Sockets.NetworkStream _stream;
        private readonly StreamReader _reader;

        private LineClient(System.Net.Sockets.Socket socket)
        {
            _socket = socket;
            _stream = new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            _reader = new StreamReader(_stream, System.Text.Encoding.UTF8);
        }

        public static async Task<LineClient> ConnectAsync(int port)
        {
            var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync("127.0.0.1", port);
            return new LineClient(socket);
        }

        public async Task SendAsync(params string[] args) => await _stream.WriteAsync(RespTestClient.Command(args));

        public async Task SendRawAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

        /// <summary>Reads <paramref name="count"/> lines; throws after 60 s so a lost reply fails the test, not hangs it.</summary>
        public async Task<string[]> ReadLinesAsync(int count)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var lines = new string[count];
            for (int i = 0; i < count; i++)
                lines[i] = await _reader.ReadLineAsync(timeout.Token) ?? throw new IOException("connection closed");
            return lines;
        }

        public void Dispose()
        {
            _reader.Dispose();
            _socket.Dispose();
        }
    }

    internal static int BlockedClients(RedisServerProcess redis)
    {
        using var direct = RespTestClient.ConnectTcp(redis.Port);
        string info = Replies.Text(direct.Call("INFO", "clients"))!;
        string line = info.Split("\r\n").First(l => l.StartsWith("blocked_clients:"));
        return int.Parse(line["blocked_clients:".Length..]);
    }
}
