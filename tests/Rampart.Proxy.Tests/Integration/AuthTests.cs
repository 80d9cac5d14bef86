using System.Text;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Integration.ConcurrencyTests;

namespace Rampart.Proxy.Tests.Integration;

/// <summary>redis_auth: clients must AUTH with the pool's password; server connections authenticate themselves.</summary>
public sealed class AuthTests
{
    [Fact]
    public async Task PoolWithPassword_RequiresClientAuth_AndAuthenticatesToServer()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "s3cret");
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisAuth = "s3cret" });
        using var client = new RawClient(rampart.Port);

        client.Send(Resp("GET", "k"));
        Assert.Equal("-NOAUTH Authentication required.", client.ReadLine());
        client.Send(Resp("AUTH", "wrong"));
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", client.ReadLine());
        client.Send(Resp("AUTH", "default", "s3cret"));
        Assert.Equal("+OK", client.ReadLine());
        client.Send(Resp("SET", "k", "v") + Resp("GET", "k"));
        Assert.Equal("+OK", client.ReadLine());
        Assert.Equal("$1", client.ReadLine());
        Assert.Equal("v", client.ReadLine());
    }

    [Fact]
    public async Task UnauthenticatedClient_OverRedisLimits_GetsRedisErrorAtTheHeaderAndIsClosed_LikeRedis()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "s3cret");
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisAuth = "s3cret" });
        // Only headers are sent: the error and the close must come without the body (a 400 MiB one for the last).
        foreach (var (header, error) in new[]
        {
            ("*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"),
            ("*1\r\n$20000\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"),
            (Resp("GET", "k") + "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$419430400\r\n",
                "-NOAUTH Authentication required.\r\n-ERR Protocol error: unauthenticated bulk length\r\n"),
            // A wrong password leaves the client unauthenticated; RESET makes it unauthenticated again.
            (Resp("AUTH", "wrong") + "*11\r\n",
                "-WRONGPASS invalid username-password pair or user is disabled.\r\n-ERR Protocol error: unauthenticated multibulk length\r\n"),
            (Resp("AUTH", "s3cret") + Resp("RESET") + "*11\r\n", "+OK\r\n+RESET\r\n-ERR Protocol error: unauthenticated multibulk length\r\n"),
        })
        {
            Assert.Equal((error, true), Exchange(redis.Port, header));
            Assert.Equal((error, true), Exchange(rampart.Port, header));
        }
    }

    [Fact]
    public async Task AuthenticatedClient_SendsMoreArgumentsAndBiggerBulks_LikeRedis()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "s3cret");
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisAuth = "s3cret" });
        string big = new('v', 20000);
        // AUTH and the requests after it in one write: the limits go as soon as AUTH (or HELLO AUTH) is answered.
        foreach (int port in new[] { redis.Port, rampart.Port })
        {
            foreach (var auth in new[] { Resp("AUTH", "s3cret"), Resp("HELLO", "2", "AUTH", "default", "s3cret") })
            {
                string key = "limits:" + Guid.NewGuid().ToString("N");
                string requests = auth + Resp(["RPUSH", key, .. Enumerable.Repeat("x", 9)])
                    + Resp("SET", key + ":big", big) + Resp("STRLEN", key + ":big");
                var (received, closed) = Exchange(port, requests);
                Assert.EndsWith(":9\r\n+OK\r\n:20000\r\n", received);
                Assert.False(closed);
            }
        }
    }

    private static (string Received, bool Closed) Exchange(int port, string requests) =>
        RawClient.ExchangeOnce(port, Encoding.ASCII.GetBytes(requests), TimeSpan.FromSeconds(1));

    [Fact]
    public async Task RedisDb_ServerConnectionsSelectIt()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisDb = 5 });
        using var client = new RawClient(rampart.Port);
        client.Send(Resp("SET", "in-db-5", "yes"));
        Assert.Equal("+OK", client.ReadLine());
        Assert.Contains("$3\r\nyes", redis.Send("*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*2\r\n$3\r\nGET\r\n$7\r\nin-db-5\r\n"));
        Assert.StartsWith("$-1", redis.Send("*2\r\n$3\r\nGET\r\n$7\r\nin-db-5\r\n"));
        client.Send(Resp("SELECT", "5"));
        Assert.Equal("+OK", client.ReadLine());
    }

    [Fact]
    public async Task WrongServerPassword_FailsRequestsWithClearError()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "right");
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisAuth = "wrong" });
        using var client = new RawClient(rampart.Port);
        client.Send(Resp("AUTH", "wrong") + Resp("GET", "k"));
        Assert.Equal("+OK", client.ReadLine());
        string reply = client.ReadLine();
        Assert.StartsWith("-ERR rampart: server", reply);
        Assert.Contains("AUTH", reply);
    }
}
