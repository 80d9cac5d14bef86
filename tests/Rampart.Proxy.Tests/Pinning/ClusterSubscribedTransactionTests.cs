using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// A RESP3 client's commands while it is subscribed (RESP3 allows any command on a subscribed connection) in a cluster
/// pool, after their slot moved behind Rampart's back (the fixture's map is checked once a minute): plain commands go
/// by the shared path, which follows the move; the client's own transaction on the subscribed connection gets Redis's
/// answers (MOVED, EXECABORT: nothing ran), and the map is patched, so what it sends next goes to the new owner.
/// </summary>
public sealed class ClusterSubscribedTransactionTests(ClusterPinnedFixture fixture) : IClassFixture<ClusterPinnedFixture>
{
    private RedisClusterProcess Cluster => fixture.Cluster;

    /// <summary>A key named after <paramref name="name"/> whose slot the node at <paramref name="port"/> serves now.</summary>
    private string KeyOn(int port, string name)
    {
        for (int i = 0; ; i++)
        {
            string key = $"{{{name}-{i}}}k";
            if (ClusterSlots.OwnerOf(Cluster, key).Port == port) return key;
        }
    }

    /// <summary>Where a plain SUBSCRIBE of a cluster pool lives: the pool's first server.</summary>
    private int SubscribedNodePort => fixture.Rampart.Server.Pools.Single().Routing.Default.Config.Port;

    /// <summary>A RESP3 client of Rampart subscribed to a plain channel, and a key of its node whose slot then moved.</summary>
    private (Resp3Client Client, string Key, RedisServerProcess Owner) SubscribedWithMovedKey(string name)
    {
        var client = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        client.Send("SUBSCRIBE", name + "-news");
        Assert.StartsWith(">3\r\n$9\r\nsubscribe\r\n", client.Read());
        string key = KeyOn(SubscribedNodePort, name);
        var source = ClusterSlots.OwnerOf(Cluster, key);
        var target = ClusterSlots.OtherThan(Cluster, source);
        ClusterSlots.Migrate(Cluster, ClusterSlot.Of(Encoding.UTF8.GetBytes(key)), source, target);
        return (client, key, target);
    }

    [Fact]
    public void PlainCommands_WhileSubscribed_AfterTheirSlotMoved_GoToTheNewOwner()
    {
        var (client, key, owner) = SubscribedWithMovedKey("sub-plain");
        using var _ = client;
        long moved = fixture.Redirects().Moved;
        Assert.Equal("+OK\r\n", client.Call("SET", key, "v"));
        Assert.Equal("$1\r\nv\r\n", client.Call("GET", key));
        Assert.Equal("$1\r\nv\r\n", owner.Send(RespText.Command("GET", key)));
        Assert.True(fixture.Redirects().Moved > moved, "nothing was redirected: the test did not exercise a move");

        // Still subscribed: a message published now reaches the client.
        using var publisher = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        publisher.Call("PUBLISH", "sub-plain-news", "hello"); // its count is the receiving node's own subscribers only
        Assert.Equal(">3\r\n$7\r\nmessage\r\n$14\r\nsub-plain-news\r\n$5\r\nhello\r\n", client.Read());
    }

    [Fact]
    public void OwnTransaction_WhileSubscribed_AfterItsSlotMoved_GetsRedissAnswers_AndNothingRuns()
    {
        var (client, key, owner) = SubscribedWithMovedKey("sub-tx");
        using var _ = client;
        Assert.Equal("+OK\r\n", client.Call("MULTI"));
        Assert.StartsWith($"-MOVED {ClusterSlot.Of(Encoding.UTF8.GetBytes(key))} 127.0.0.1:{owner.Port}", client.Call("SET", key, "1"));
        Assert.Equal("-EXECABORT Transaction discarded because of previous errors.\r\n", client.Call("EXEC"));
        Assert.Equal("$-1\r\n", owner.Send(RespText.Command("GET", key)));

        // The map was patched by that MOVED: the client's next commands go to the new owner (by the shared path).
        var routing = fixture.Rampart.Server.Pools.Single().Routing;
        Assert.Equal(owner.Port, routing.ServerFor(Encoding.UTF8.GetBytes(key))!.Config.Port);
        Assert.Equal("+OK\r\n", client.Call("SET", key, "after"));
        Assert.Equal("$5\r\nafter\r\n", owner.Send(RespText.Command("GET", key)));
    }
}
