using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>redis_auth: clients must AUTH with the pool's password; server connections authenticate themselves.</summary>
public sealed class AuthTests
{
    [Fact]
    public async Task PoolWithPassword_RequiresClientAuth_AndAuthenticatesToServer()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "s3cret");
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisAuth = "s3cret" });
        using var client = new RawClient(rampart.Port);

        client.Send(RespText.Command("GET", "k"));
        Assert.Equal("-NOAUTH Authentication required.", client.ReadLine());
        client.Send(RespText.Command("AUTH", "wrong"));
        Assert.Equal("-WRONGPASS invalid username-password pair or user is disabled.", client.ReadLine());
        client.Send(RespText.Command("AUTH", "default", "s3cret"));
        Assert.Equal("+OK", client.ReadLine());
        client.Send(RespText.Command("SET", "k", "v") + RespText.Command("GET", "k"));
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
            (RespText.Command("GET", "k") + "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$419430400\r\n",
                "-NOAUTH Authentication required.\r\n-ERR Protocol error: unauthenticated bulk length\r\n"),
            // A wrong password leaves the client unauthenticated; RESET makes it unauthenticated again.
            (RespText.Command("AUTH", "wrong") + "*11\r\n",
                "-WRONGPASS invalid username-password pair or user is disabled.\r\n-ERR Protocol error: unauthenticated multibulk length\r\n"),
            (RespText.Command("AUTH", "s3cret") + RespText.Command("RESET") + "*11\r\n", "+OK\r\n+RESET\r\n-ERR Protocol error: unauthenticated multibulk length\r\n"),
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
            foreach (var auth in new[] { RespText.Command("AUTH", "s3cret"), RespText.Command("HELLO", "2", "AUTH", "default", "s3cret") })
            {
                string key = "limits:" + Guid.NewGuid().ToString("N");
                string requests = auth + RespText.Command(["RPUSH", key, .. Enumerable.Repeat("x", 9)])
                    + RespText.Command("SET", key + ":big", big) + RespText.Command("STRLEN", key + ":big");
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
        client.Send(RespText.Command("SET", "in-db-5", "yes"));
        Assert.Equal("+OK", client.ReadLine());
        Assert.Contains("$3\r\nyes", redis.Send("*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*2\r\n$3\r\nGET\r\n$7\r\nin-db-5\r\n"));
        Assert.StartsWith("$-1", redis.Send("*2\r\n$3\r\nGET\r\n$7\r\nin-db-5\r\n"));
        client.Send(RespText.Command("SELECT", "5"));
        Assert.Equal("+OK", client.ReadLine());
    }

    [Fact]
    public async Task WrongServerPassword_FailsRequestsWithClearError()
    {
        using var redis = RedisServerProcess.Start("--requirepass", "right");
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { RedisAuth = "wrong" });
        using var client = new RawClient(rampart.Port);
        client.Send(RespText.Command("AUTH", "wrong") + RespText.Command("GET", "k"));
        Assert.Equal("+OK", client.ReadLine());
        string reply = client.ReadLine();
        Assert.StartsWith("-ERR rampart: server", reply);
        Assert.Contains("AUTH", reply);
    }
}
