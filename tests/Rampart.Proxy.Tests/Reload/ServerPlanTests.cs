using Rampart.Proxy.Configuration;
using Rampart.Proxy.Reload;

namespace Rampart.Proxy.Tests.Reload;

/// <summary>What a reload keeps, adds and retires of a pool's servers, decided from the two configurations alone.</summary>
public class ServerPlanTests
{
    private static ServerConfig Server(int port, string? name = null) => new() { Host = "127.0.0.1", Port = port, Weight = 1, Name = name };

    private static PoolConfig Pool(params ServerConfig[] servers) => new()
    {
        Name = "p",
        Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
        Servers = servers,
    };

    [Fact]
    public void ServersThatStay_AreKept_NewOnesAdded_AndThoseThatLeftRemoved()
    {
        ServerConfig a = Server(7001, "a"), b = Server(7002, "b"), c = Server(7003, "c");
        var previous = Pool(a, b);
        // c is new, a moves to the second place (with another weight), b leaves.
        var next = Pool(c, a with { Weight = 3 });

        var plan = ServerPlan.For(previous, next, previous.Servers, s => s);

        Assert.Equal([null, a], plan.Kept);
        Assert.Equal([b], plan.Removed);
    }

    [Fact]
    public void AServerIsTheSameServerOnlyWithTheSameAddressAndName()
    {
        ServerConfig a = Server(7001, "a");
        var plan = ServerPlan.For(Pool(a), Pool(Server(7001, "renamed")), [a], s => s);
        Assert.Equal([null], plan.Kept);
        Assert.Equal([a], plan.Removed);
    }

    [Fact]
    public void WhenConnectionsAreMadeAnotherWay_NoServerIsKept()
    {
        ServerConfig a = Server(7001, "a"), b = Server(7002, "b");
        var previous = Pool(a, b);
        foreach (var next in new[] { previous with { RedisDb = 2 }, previous with { ServerConnections = 4 }, previous with { RedisAuth = "secret" } })
        {
            var plan = ServerPlan.For(previous, next, previous.Servers, s => s);
            Assert.Equal([null, null], plan.Kept);
            Assert.Equal([a, b], plan.Removed);
        }
    }
}
