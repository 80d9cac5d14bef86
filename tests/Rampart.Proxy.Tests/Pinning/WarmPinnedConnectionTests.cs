using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Pinning.BlockingCommandTests;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// Warm dedicated connections (<c>pinned_min_idle</c>): a blocking call starts on a connection that is already open,
/// so it reaches Redis as fast as a shared-path command, and a write another client sends right after it wakes it,
/// as it would directly. Without them the call waited for a new connection and was overtaken by that write.
/// </summary>
public sealed class WarmPinnedConnectionTests
{
    [Fact]
    public async Task BlockingCall_ThenAnotherClientsWrite_WakesTheBlockedClient()
    {
        using var redis = RedisServerProcess.Start();
        // One event loop: the blocked client's request is read (and, on a warm connection, written to Redis) before
        // the other client's, as Redis itself would read two sockets that became readable in that order.
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis), eventLoops: 1);
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        using var writer = RespTestClient.ConnectTcp(rampart.Port);
        for (int round = 0; round < 20; round++)
        {
            // Each round a new client (so warm connections are used up and replenished), known to Rampart (PING)
            // before it sends its blocking call; and a warm connection waiting for it.
            using var waiter = Resp3Client.Connect(rampart.Port);
            Assert.Equal("+PONG\r\n", waiter.Call("PING"));
            await WaitUntilAsync(() => pinned.Idle >= 1, TimeSpan.FromSeconds(10));
            string key = $"warm:{round}:{Guid.NewGuid():N}";
            string value = $"v{round}";
            if (round % 2 == 0)
            {
                waiter.Send("BLPOP", key, "0");
                Assert.Equal("1", writer.Ask("RPUSH", key, value));
                Assert.Equal($"*2\r\n${key.Length}\r\n{key}\r\n${value.Length}\r\n{value}\r\n", waiter.Read());
            }
            else
            {
                waiter.Send("XREAD", "BLOCK", "0", "STREAMS", key, "$");
                string id = Replies.Text(writer.Call("XADD", key, "*", "f", value))!;
                Assert.Equal($"*1\r\n*2\r\n${key.Length}\r\n{key}\r\n*1\r\n*2\r\n${id.Length}\r\n{id}\r\n*2\r\n$1\r\nf\r\n${value.Length}\r\n{value}\r\n", waiter.Read());
            }
        }
    }
}
