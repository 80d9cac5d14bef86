using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.EndToEnd;

public sealed class SmokeTests
{
    [Fact]
    public async Task SetThenGet_ThroughRampart_ReturnsValue()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var mux = await ConnectionMultiplexer.ConnectAsync($"{rampart.Endpoint},abortConnect=false");
        var db = mux.GetDatabase();
        await db.StringSetAsync("k", "v");
        Assert.Equal("v", (string?)await db.StringGetAsync("k"));
    }
}
