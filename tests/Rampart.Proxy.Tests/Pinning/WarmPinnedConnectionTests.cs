using Rampart.Proxy.Pinning;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Pinning.BlockingCommandTests;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// Warm dedicated connections (<c>pinned_min_idle</c>): a blocking call starts on a connection that is already open,
/// so it reaches Redis as fast as a shared-path command, and a write another client sends right after it wakes it,
/// as it would directly. Without them the call waited for a new connection to open and was overtaken by that write:
/// an <c>XREAD BLOCK ... $</c> then missed the entry for good (a BLPOP still finds its value in the list, so the BLPOP
/// case passes either way; it is here because it is the common case).
/// </summary>
public sealed class WarmPinnedConnectionTests
{
    /// <summary>
    /// Made deterministic by freezing Redis (SIGSTOP) while both clients send: the kernel still accepts connections
    /// and buffers bytes, and when Redis runs again it reads the sockets in the order their bytes arrived. A call on a
    /// warm connection has its bytes there before the write's; a call waiting for a new connection has only a pending
    /// accept, which Redis handles in the same pass as the write, so its handshake, and the call, come after the write.
    /// One event loop: once the test sees a connection lent, the blocked client's request is written before the loop
    /// reads the other client's.
    /// </summary>
    [Theory]
    [InlineData("XREAD")]
    [InlineData("BLPOP")]
    public async Task BlockingCall_ThenAnotherClientsWrite_WakesTheBlockedClient(string call)
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis), eventLoops: 1);
        var pinned = rampart.Server.GetPool("test").Routing.Default.Pinned;
        using var writer = Resp3Client.Connect(rampart.Port);
        Assert.Equal("+PONG\r\n", writer.Call("PING"));
        Assert.Equal("+OK\r\n", writer.Call("SET", "warm:shared-connection-open", "1"));
        var waiters = new List<Resp3Client>();
        try
        {
            for (int round = 0; round < 3; round++)
            {
                // A new client each round, known to Rampart (PING) before its blocking call; every earlier one still
                // holds its connection (below), so this call needs another one: a warm one, waiting for it.
                var waiter = Resp3Client.Connect(rampart.Port);
                waiters.Add(waiter);
                Assert.Equal("+PONG\r\n", waiter.Call("PING"));
                await WaitUntilAsync(() => pinned.Idle >= 1 && pinned.Lent == round, TimeSpan.FromSeconds(10));
                string key = $"warm:{round}:{Guid.NewGuid():N}";
                string value = $"v{round}";
                redis.Freeze();
                try
                {
                    if (call == "BLPOP") waiter.Send("BLPOP", key, "0");
                    else waiter.Send("XREAD", "BLOCK", "0", "STREAMS", key, "$");
                    // As soon as Rampart took the request (a connection is lent to it): the other client's write.
                    await WaitUntilAsync(() => pinned.Lent == round + 1, TimeSpan.FromSeconds(10));
                    if (call == "BLPOP") writer.Send("RPUSH", key, value);
                    else writer.Send("XADD", key, "*", "f", value);
                    await Task.Delay(50); // (not a pass/fail timing: lets the write reach Redis's socket while frozen)
                }
                finally
                {
                    redis.Thaw();
                }
                string written = writer.Read();
                if (call == "BLPOP")
                {
                    Assert.Equal(":1\r\n", written);
                    Assert.Equal($"*2\r\n${key.Length}\r\n{key}\r\n${value.Length}\r\n{value}\r\n", ReadOrSay(waiter, round, pinned));
                }
                else
                {
                    string id = written.Split("\r\n")[1];
                    Assert.Equal($"*1\r\n*2\r\n${key.Length}\r\n{key}\r\n*1\r\n*2\r\n${id.Length}\r\n{id}\r\n*2\r\n$1\r\nf\r\n${value.Length}\r\n{value}\r\n", ReadOrSay(waiter, round, pinned));
                }
                // Keeps its connection: blocked on a key nobody writes (until the test ends and closes it).
                waiter.Send("BLPOP", $"never:{key}", "0");
                await WaitUntilAsync(() => BlockedClients(redis) == round + 1, TimeSpan.FromSeconds(10));
            }
        }
        finally
        {
            foreach (var waiter in waiters) waiter.Dispose();
        }
        // Their connections were blocked: closed with them, never reused.
        await WaitUntilAsync(() => BlockedClients(redis) == 0 && pinned.Lent == 0, TimeSpan.FromSeconds(10));
    }

    private static string ReadOrSay(Resp3Client client, int round, PinnedPool pinned)
    {
        try { return client.Read(); }
        catch (TimeoutException e) { throw new TimeoutException($"round {round}: open {pinned.Open}, idle {pinned.Idle}, lent {pinned.Lent}, opened {pinned.Opened}: {e.Message}"); }
    }
}
