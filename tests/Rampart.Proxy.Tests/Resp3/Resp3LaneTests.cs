using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Pinning.BlockingCommandTests;

namespace Rampart.Proxy.Tests.Resp3;

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

        // One connection per lane (server_connections 1), both in the server's stats.
        Assert.Equal(2, server.AllConnections.Count());
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
}
