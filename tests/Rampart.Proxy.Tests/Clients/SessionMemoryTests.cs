using Rampart.Proxy.Clients;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>What a client leaves behind once it has gone: nothing the garbage collector cannot take back.</summary>
public sealed class SessionMemoryTests
{
    [Fact]
    public async Task ClosedClients_OnAPoolWithTimeout_AreNotKeptReachable()
    {
        // The timeout sweep looks at each server connection's oldest request many times a second; looking must not
        // keep the requests it has seen, nor through them the sessions and buffers of clients that have gone.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { TimeoutMs = 1000 }, eventLoops: 1);
        var pool = rampart.Server.GetPool("test");
        var value = new string('v', 64 * 1024);

        var sessions = new List<WeakReference>();
        for (int i = 0; i < 20; i++)
        {
            using var client = new RawClient(rampart.Port);
            client.Send(RespText.Command("SET", $"big{i}", value));
            Assert.Equal("+OK", client.ReadLine());
            client.Send(RespText.Command("GET", $"big{i}"));
            Assert.Equal($"${value.Length}", client.ReadLine());
            Assert.Equal(value, client.ReadLine());
            sessions.Add(ClientLimitTests.WeakSessionOf(pool, ((System.Net.IPEndPoint)client.Socket.LocalEndPoint!).Port));
        }

        await WaitUntilAsync(() => pool.CurrentConnections == 0, TimeSpan.FromSeconds(10));
        await Task.Delay(300); // several timeout sweeps over the now idle connection

        foreach (var session in sessions) await ClientLimitTests.AssertCollectedAsync(session);
    }

    [Fact]
    public async Task ALongLivedClient_DoesNotKeepTheRequestObjectsItGaveBack()
    {
        // A session starts its reply queue with a sentinel that is never pooled. Once the first reply is written, the
        // first request goes back to the pool and serves other clients; a link left from the sentinel to it kept
        // whichever client used it next alive (with its buffers: 32 MB after a large value), as long as this one lived.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis), eventLoops: 1);
        var pool = rampart.Server.GetPool("test");
        using var client = new RawClient(rampart.Port);
        for (int i = 0; i < 3; i++)
        {
            client.Send(RespText.Command("EXISTS", "k"));
            Assert.Equal(":0", client.ReadLine());
        }
        var session = pool.Sessions.Single();
        var sentinel = (Rampart.Proxy.Backends.ProxyRequest)typeof(ClientSession)
            .GetField("_sentinel", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(session)!;
        Assert.Null(sentinel.Next);
    }
}
