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
