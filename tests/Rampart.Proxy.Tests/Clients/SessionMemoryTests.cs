using System.Runtime.CompilerServices;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Integration.ConcurrencyTests;
using static Rampart.Proxy.Tests.Pinning.BlockingCommandTests;

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
            client.Send(Resp("SET", $"big{i}", value));
            Assert.Equal("+OK", client.ReadLine());
            client.Send(Resp("GET", $"big{i}"));
            Assert.Equal($"${value.Length}", client.ReadLine());
            Assert.Equal(value, client.ReadLine());
            sessions.Add(WeakSessionOf(pool, client));
        }

        await WaitUntilAsync(() => pool.CurrentConnections == 0, TimeSpan.FromSeconds(10));
        await Task.Delay(300); // several timeout sweeps over the now idle connection

        foreach (var session in sessions) await ClientLimitTests.AssertCollectedAsync(session);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference WeakSessionOf(PoolRuntime pool, RawClient client)
    {
        string port = ":" + ((System.Net.IPEndPoint)client.Socket.LocalEndPoint!).Port;
        return new WeakReference(pool.Sessions.Single(s => s.RemoteEndPoint.EndsWith(port, StringComparison.Ordinal)));
    }
}
