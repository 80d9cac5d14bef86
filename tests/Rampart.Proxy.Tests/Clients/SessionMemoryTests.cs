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

    [Fact]
    public async Task AClientThatSentNothing_HoldsNoBuffer_AndNoPendingRead_UntilItSpeaks()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis), eventLoops: 1);
        var pool = rampart.Server.GetPool("test");
        var client = new RawClient(rampart.Port);
        await WaitUntilAsync(() => pool.Sessions.Count() == 1, TimeSpan.FromSeconds(10));
        var session = pool.Sessions.Single();
        // Parked: the event loop calls the session back when bytes come; no read waits, no buffer is rented.
        Assert.True(session.IsParked);
        Assert.False(session.HoldsBuffers);

        client.Send(RespText.Command("PING"));
        Assert.Equal("+PONG", client.ReadLine());
        client.Dispose();
        // A parked client that hangs up is seen to have gone.
        await WaitUntilAsync(() => pool.CurrentConnections == 0, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task AClientBetweenRequests_GivesItsBuffersBack_AndAHalfRequestKeepsOnlyTheReadBuffer()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis), eventLoops: 1);
        var pool = rampart.Server.GetPool("test");
        using var client = new RawClient(rampart.Port);
        client.Send(RespText.Command("SET", "k", new string('v', 100_000)));
        Assert.Equal("+OK", client.ReadLine());
        client.Send(RespText.Command("GET", "k"));
        Assert.Equal("$100000", client.ReadLine());
        Assert.Equal(100_000, client.ReadLine().Length);
        var session = pool.Sessions.Single();
        await WaitUntilAsync(() => session.IsParked && !session.HoldsBuffers, TimeSpan.FromSeconds(10));

        // Half a request: the read buffer holds it (nothing parks while a request is unfinished), then the rest
        // completes it, and once its reply is out the session parks empty-handed again.
        var request = RespText.Command("ECHO", "hello");
        client.Send(request[..10]);
        await WaitUntilAsync(() => session.HoldsBuffers && !session.IsParked, TimeSpan.FromSeconds(10));
        client.Send(request[10..]);
        Assert.Equal("$5", client.ReadLine());
        Assert.Equal("hello", client.ReadLine());
        await WaitUntilAsync(() => session.IsParked && !session.HoldsBuffers, TimeSpan.FromSeconds(10));
    }
}
