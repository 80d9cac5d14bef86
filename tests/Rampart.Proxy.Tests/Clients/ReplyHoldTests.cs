using System.Diagnostics;
using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>
/// A client's completed replies may wait a moment for the rest of its pipeline (one write instead of one per server
/// read), but only a moment: a reply that is ready never waits for a server that is slow to answer the next request.
/// </summary>
public sealed class ReplyHoldTests
{
    [Fact]
    public async Task AReadyReply_IsNotHeldBack_ByASlowServerAnsweringTheNextRequest()
    {
        using var fast = RedisServerProcess.Start();
        using var slow = RedisServerProcess.Start();
        var pool = RampartUnderTest.Pool(fast, slow);
        var router = KeyRouter.Create(pool);
        string onFast = KeyOn(router, 0), onSlow = KeyOn(router, 1);
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using (var setup = RespTestClient.ConnectTcp(rampart.Port))
        {
            Assert.Equal("OK", setup.CallText("SET", onFast, "fast-value"));
            Assert.Equal("OK", setup.CallText("SET", onSlow, "slow-value"));
        }

        // The second server answers nothing for 3 s: Rampart does not know, it only sees no reply.
        using (var direct = RespTestClient.ConnectTcp(slow.Port)) Assert.Equal("OK", direct.CallText("CLIENT", "PAUSE", "3000", "ALL"));
        using var client = new RawClient(rampart.Port);
        var clock = Stopwatch.StartNew();
        client.Send([.. RespTestClient.Command("GET", onFast), .. RespTestClient.Command("GET", onSlow)]);

        Assert.Equal("$10\r\nfast-value\r\n", client.ReadExactly(17));
        var firstAfter = clock.Elapsed;
        Assert.True(client.IsSilentFor(TimeSpan.FromMilliseconds(300)), "the paused server's reply came early");
        Assert.Equal("$10\r\nslow-value\r\n", client.ReadExactly(17));
        Assert.True(firstAfter < TimeSpan.FromSeconds(2), $"the ready reply waited {firstAfter.TotalMilliseconds:F0} ms for the paused server");
    }

    private static string KeyOn(KeyRouter router, int server)
    {
        for (int i = 0; ; i++)
        {
            string key = $"hold:{i}";
            if (router.ServerFor(Encoding.UTF8.GetBytes(key)) == server) return key;
        }
    }
}
