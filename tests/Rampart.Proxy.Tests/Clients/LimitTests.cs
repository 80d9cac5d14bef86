using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>Bounds that protect the proxy from one client: client_connections and client_output_buffer.</summary>
public sealed class LimitTests
{
    [Fact]
    public async Task ClientConnections_OverTheLimit_GetsRedisErrorAndIsClosed()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { ClientConnections = 2 });
        using var first = new RawClient(rampart.Port);
        using var second = new RawClient(rampart.Port);
        first.AssertStillServes();
        second.AssertStillServes();
        using var third = new RawClient(rampart.Port);
        Assert.Equal("-ERR max number of clients reached", third.ReadLine());
        Assert.True(third.IsClosedByServer(TimeSpan.FromSeconds(5)));
        first.Dispose();
        // A freed slot is usable again.
        using var fourth = await WaitForAdmissionAsync(rampart.Port);
        fourth.AssertStillServes();
    }

    private static async Task<RawClient> WaitForAdmissionAsync(int port)
    {
        for (int i = 0; i < 100; i++)
        {
            var client = new RawClient(port);
            client.Send(RespText.Command("PING"));
            if (client.ReadLine() == "+PONG") return client;
            client.Dispose();
            await Task.Delay(50);
        }
        throw new TimeoutException("a freed client slot was never reused");
    }

    [Fact]
    public async Task ClientThatNeverReads_IsClosedAtItsOutputLimit_OthersUnaffected()
    {
        using var redis = RedisServerProcess.Start();
        const long limit = 1024 * 1024;
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { ClientOutputBufferLimit = limit });
        using (var setup = new RawClient(rampart.Port))
        {
            setup.Send(RespText.Command("SET", "big", new string('x', 100_000)));
            Assert.Equal("+OK", setup.ReadLine());
        }

        using var hog = new RawClient(rampart.Port);
        hog.Socket.ReceiveBufferSize = 4096;
        string gets = string.Concat(Enumerable.Repeat(RespText.Command("GET", "big"), 100));
        bool closed = false;
        // 100 GETs of 100 KB = 10 MB of replies per burst, far past the 1 MB limit: the proxy must cut the hog off.
        for (int burst = 0; burst < 50 && !closed; burst++)
        {
            try { hog.Send(gets); }
            catch (IOException) { closed = true; }
            using var good = new RawClient(rampart.Port);
            good.AssertStillServes();
        }
        Assert.True(closed || hog.IsClosedByServer(TimeSpan.FromSeconds(10)), "the client that never reads was never closed");
    }
}
