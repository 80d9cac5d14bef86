using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;

namespace Rampart.Proxy.Tests.Observability;

/// <summary>
/// A backend's errors split in two, as the dashboard and /metrics show them: error replies a client's command caused
/// (WRONGTYPE: the server is fine) and requests that failed because of the server (it is gone: an incident).
/// </summary>
public sealed class ServerErrorSplitTests
{
    [Fact]
    public async Task ClientCausedReplies_AndServerTrouble_AreCountedApart()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal("OK", client.Ask("SET", "split:k", "v"));
        for (int i = 0; i < 3; i++) Assert.StartsWith("-WRONGTYPE", client.Ask("LPUSH", "split:k", "x"));

        var backend = rampart.Server.TakeSnapshot().Pools.Single().Backends.Single();
        Assert.Equal((0L, 3L), (backend.ServerErrors, backend.ReplyErrors));

        redis.Kill();
        for (int i = 0; i < 2; i++) Assert.StartsWith("-ERR rampart:", client.Ask("GET", "split:k"));
        backend = rampart.Server.TakeSnapshot().Pools.Single().Backends.Single();
        Assert.Equal((2L, 3L), (backend.ServerErrors, backend.ReplyErrors));
    }
}
