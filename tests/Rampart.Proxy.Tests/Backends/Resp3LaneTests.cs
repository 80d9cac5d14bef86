using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>
/// The RESP3 lane of shared server connections is a server's connections like the others: counted in the stats,
/// recycled on a timeout and reconnected after, and it never slows or disturbs the RESP2 lane.
/// </summary>
public sealed class Resp3LaneTests
{
    [Fact]
    public async Task Resp3Lane_IsCounted_TimesOut_AndReconnects_WithoutDisturbingTheResp2Lane()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { TimeoutMs = 300 });
        var server = rampart.Server.GetPool("test").Routing.Default;
        using var resp2 = Resp3Client.Connect(rampart.Port);
        using var resp3 = Resp3Client.ConnectResp3(rampart.Port);
        Assert.Equal("$-1\r\n", resp2.Call("GET", "lane:none"));
        Assert.Equal("_\r\n", resp3.Call("GET", "lane:none"));

        // One connection per lane (server_connections 1) and event loop; the two in use are in the server's stats.
        Assert.Equal(2 * RampartUnderTest.DefaultEventLoops, server.AllConnections.Count());
        await WaitUntilAsync(() => server.Stats.Connections == 2, TimeSpan.FromSeconds(5));
        using (var stats = System.Text.Json.JsonDocument.Parse(rampart.Server.GetTwemproxyStatsJson()))
        {
            var entry = stats.RootElement.GetProperty("test").EnumerateObject().First(p => p.Value.ValueKind == System.Text.Json.JsonValueKind.Object);
            Assert.Equal(2, entry.Value.GetProperty("server_connections").GetInt64());
        }

        // The pool's timeout applies to the RESP3 lane: the request fails, its connection is recycled.
        redis.Freeze();
        try
        {
            Assert.Equal("-ERR timeout\r\n", resp3.Call("GET", "lane:none"));
        }
        finally
        {
            redis.Thaw();
        }
        Assert.Equal("_\r\n", resp3.Call("GET", "lane:none")); // a new RESP3 connection (it said HELLO 3 again)
        Assert.Equal("$-1\r\n", resp2.Call("GET", "lane:none"));
        Assert.Equal("OK", redis.Send("PING\r\n").Trim() == "+PONG" ? "OK" : "server down");
    }

    /// <summary>
    /// A server that does not speak RESP3 (here: HELLO renamed away, as on a Redis before 6): the RESP3 client's
    /// request gets the reason, later HELLO 3 gets Redis's NOPROTO, and the server is not put into backoff for its
    /// RESP2 clients.
    /// </summary>
    [Fact]
    public async Task ServerWithoutResp3_FailsOnlyResp3Requests_ThenHello3GetsNoproto()
    {
        using var redis = RedisServerProcess.Start("--rename-command", "HELLO", "");
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var resp2 = Resp3Client.Connect(rampart.Port);
        Assert.Equal("+OK\r\n", resp2.Call("SET", "lane:k", "v"));
        using (var resp3 = Resp3Client.ConnectResp3(rampart.Port)) // Rampart answers HELLO itself, before any RESP3 connect
        {
            string reply = resp3.Call("GET", "lane:k");
            Assert.StartsWith($"-ERR rampart: server s0 (127.0.0.1:{redis.Port}) does not speak RESP3 (server refused HELLO 3: ERR unknown command", reply);
            Assert.StartsWith("-ERR rampart: server", resp3.Call("SUBSCRIBE", "lane:ch")); // dedicated connections too
        }
        for (int i = 0; i < 5; i++) Assert.Equal("$1\r\nv\r\n", resp2.Call("GET", "lane:k"));
        Assert.Null(rampart.Server.GetPool("test").Routing.Default.DownReason);
        using var late = Resp3Client.Connect(rampart.Port);
        Assert.Equal("-NOPROTO unsupported protocol version\r\n", late.Call("HELLO", "3"));
        Assert.Equal("$1\r\nv\r\n", late.Call("GET", "lane:k"));

        // When a subscriber's dedicated connection is the first to find out, the SUBSCRIBE gets the reason too.
        await using var fresh = await RampartUnderTest.StartAsync(redis);
        using var subscriber = Resp3Client.ConnectResp3(fresh.Port);
        Assert.StartsWith("-ERR rampart: server", subscriber.Call("SUBSCRIBE", "lane:ch"));
        Assert.Contains("does not speak RESP3", subscriber.Call("GET", "lane:k")); // still RESP3: still refused
        Assert.StartsWith("*14\r\n", subscriber.Call("HELLO", "2"));
        Assert.Equal("$1\r\nv\r\n", subscriber.Call("GET", "lane:k"));
    }
}
