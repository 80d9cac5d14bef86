using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Rampart.Proxy.Clients;
using Rampart.Proxy.Pools;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>
/// <c>client_output_buffer</c> bounds what one client holds in the proxy, whatever it holds it in, and a large reply
/// reaches a client that reads it without ever being held whole.
/// </summary>
public sealed class ClientLimitTests
{
    private const long SmallLimit = 1024 * 1024;

    [Fact]
    public async Task ClientThatPipelinesSmallRequestsAndNeverReads_IsClosedAtTheLimit_AndLeavesNothingBehind()
    {
        // 20,000 GETs of a missing key hold about 100 KB of replies, far under the limit; what they hold besides
        // (a request object and its buffer each) is counted too, so the client is closed long before.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(
            RampartUnderTest.Pool(redis) with { ClientOutputBufferLimit = SmallLimit }, eventLoops: 1);
        var pool = rampart.Server.GetPool("test");
        using var canary = new RawClient(rampart.Port);

        WeakReference session;
        using (var flooder = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            flooder.ReceiveBufferSize = 4096; // it never reads: keep what the kernel holds for it small
            flooder.Connect("127.0.0.1", rampart.Port);
            session = WeakSessionOf(pool, ((System.Net.IPEndPoint)flooder.LocalEndPoint!).Port);
            var batch = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(RespText.Command("GET", "missing"), 1000)));
            flooder.SendTimeout = 2000;
            for (int i = 0; i < 20; i++)
            {
                try { flooder.Send(batch); }
                catch (SocketException) { break; } // closed already, or no longer read
            }
            await WaitUntilAsync(() => pool.CurrentConnections == 1, TimeSpan.FromSeconds(10));
        }

        // The other client was never disturbed.
        canary.Send(RespText.Command("SET", "canary", "alive") + RespText.Command("GET", "canary"));
        Assert.Equal("+OK", canary.ReadLine());
        Assert.Equal("$5", canary.ReadLine());
        Assert.Equal("alive", canary.ReadLine());
        await AssertCollectedAsync(session);
    }

    [Fact]
    public async Task ReplyLargerThanTheLimit_ReachesAClientThatReadsIt_WhileOthersOnTheSameConnectionGetTheirs()
    {
        // 24 MB against a 1 MB limit: only a reply that passes through in parts can arrive.
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(
            RampartUnderTest.Pool(redis) with { ClientOutputBufferLimit = SmallLimit }, eventLoops: 1);
        var value = RandomValue(24 * 1024 * 1024, seed: 1);
        SetDirect(redis, "large", value);

        using var others = new CancellationTokenSource();
        var busy = Task.Run(() => SmallRoundTrips(rampart.Port, others.Token));
        for (int round = 0; round < 3; round++)
        {
            using var client = new RawClient(rampart.Port);
            client.Send(RespText.Command("GET", "large") + RespText.Command("ECHO", $"after-{round}"));
            Assert.Equal($"${value.Length}", client.ReadLine());
            Assert.Equal(value, client.ReadBytes(value.Length + 2)[..^2]);
            Assert.Equal($"${$"after-{round}".Length}", client.ReadLine());
            Assert.Equal($"after-{round}", client.ReadLine());
        }
        others.Cancel();
        Assert.True(await busy > 0);
    }

    [Fact]
    public async Task ClientThatStopsReadingALargeReply_IsClosedAtTheLimit_AndTheServerConnectionServesOthers()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(
            RampartUnderTest.Pool(redis) with { ClientOutputBufferLimit = SmallLimit }, eventLoops: 1);
        var pool = rampart.Server.GetPool("test");
        SetDirect(redis, "large", RandomValue(32 * 1024 * 1024, seed: 2));

        using var canary = new RawClient(rampart.Port);
        canary.Send(RespText.Command("EXISTS", "large"));
        Assert.Equal(":1", canary.ReadLine());
        using (var stalled = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            stalled.ReceiveBufferSize = 4096;
            stalled.Connect("127.0.0.1", rampart.Port);
            stalled.Send(Encoding.ASCII.GetBytes(RespText.Command("GET", "large")));
            await WaitUntilAsync(() => pool.CurrentConnections == 1, TimeSpan.FromSeconds(10));
        }
        // The rest of the 32 MB was read from the server and dropped; the next reply on that connection is the canary's.
        canary.Send(RespText.Command("ECHO", "next"));
        Assert.Equal("$4", canary.ReadLine());
        Assert.Equal("next", canary.ReadLine());
    }

    private static async Task<int> SmallRoundTrips(int port, CancellationToken stop)
    {
        using var client = new RawClient(port);
        int done = 0;
        for (int i = 0; i < 100_000 && !stop.IsCancellationRequested; i++)
        {
            string value = $"small-{i}-{Guid.NewGuid():N}";
            client.Send(RespText.Command("SET", "small", value) + RespText.Command("GET", "small"));
            Assert.Equal("+OK", client.ReadLine());
            Assert.Equal($"${value.Length}", client.ReadLine());
            Assert.Equal(value, client.ReadLine());
            done++;
            await Task.Yield();
        }
        return done;
    }

    private static byte[] RandomValue(int length, int seed)
    {
        var value = new byte[length];
        new Random(seed).NextBytes(value);
        return value;
    }

    private static void SetDirect(RedisServerProcess redis, string key, byte[] value)
    {
        using var direct = RespTestClient.ConnectTcp(redis.Port);
        direct.Send(RespTestClient.Command(Encoding.ASCII.GetBytes("SET"), Encoding.ASCII.GetBytes(key), value));
        Assert.Equal("OK", Pinning.Replies.Text(direct.ReadReply()));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static WeakReference WeakSessionOf(PoolRuntime pool, int clientPort)
    {
        string port = ":" + clientPort;
        ClientSession? session = null;
        for (int i = 0; i < 200 && session is null; i++)
        {
            session = pool.Sessions.SingleOrDefault(s => s.RemoteEndPoint.EndsWith(port, StringComparison.Ordinal));
            if (session is null) Thread.Sleep(10);
        }
        return new WeakReference(session ?? throw new InvalidOperationException("session not found"));
    }

    /// <summary>
    /// Collects until the object is gone, for up to 10 s: a closed session's last continuations (its read loop's end,
    /// posted to its event loop) may still hold it for a moment on a busy machine; a leak holds it for ever.
    /// </summary>
    internal static async Task AssertCollectedAsync(WeakReference reference)
    {
        for (int attempt = 0; attempt < 200 && reference.IsAlive; attempt++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            await Task.Delay(50);
        }
        Assert.False(reference.IsAlive, "the closed client's session is still reachable");
    }
}
