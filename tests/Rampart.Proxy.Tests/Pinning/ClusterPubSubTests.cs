using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// Pub/sub through a cluster pool: plain channels work from any node (Redis Cluster carries PUBLISH over its bus to
/// every node), and shard channels are subscribed on the master serving the channel's slot, where SPUBLISH delivers.
/// Checked from both sides: messages published straight on the nodes reach Rampart's subscribers, and Rampart's
/// publications reach subscribers straight on a node.
/// </summary>
public sealed class ClusterPubSubTests(ClusterPoolFixture fixture) : IClassFixture<ClusterPoolFixture>
{
    /// <summary>A client whose reads give up after 5 s, so a message that never comes fails the test instead of hanging it.</summary>
    private static RespTestClient Connect(int port)
    {
        var client = RespTestClient.ConnectTcp(port);
        client.ReadTimeoutMs = 5000;
        return client;
    }

    [Fact]
    public void PlainChannel_PublishedOnEveryNode_ReachesRampartsSubscriber_AndRampartsPublishReachesANodesSubscriber()
    {
        string channel = $"cps:{Guid.NewGuid():N}";
        using var subscriber = Connect(fixture.Rampart.Port);
        Assert.Equal(["subscribe", channel, "1"], Replies.Array(subscriber.Call("SUBSCRIBE", channel)));
        foreach (var node in fixture.Servers)
        {
            using var direct = Connect(node.Port);
            Assert.IsType<long>(direct.Call("PUBLISH", channel, $"from {node.Port}"));
            Assert.Equal(["message", channel, $"from {node.Port}"], Replies.Array(subscriber.ReadReply()));
        }

        using var onNode = Connect(fixture.Servers[^1].Port);
        Assert.Equal(["subscribe", channel, "1"], Replies.Array(onNode.Call("SUBSCRIBE", channel)));
        using var publisher = Connect(fixture.Rampart.Port);
        Assert.IsType<long>(publisher.Call("PUBLISH", channel, "via rampart"));
        Assert.Equal(["message", channel, "via rampart"], Replies.Array(onNode.ReadReply()));
        Assert.Equal(["message", channel, "via rampart"], Replies.Array(subscriber.ReadReply()));
    }

    [Fact]
    public void ShardChannels_OfEveryMaster_AreSubscribedOnTheirOwner_AndGetSpublishFromRampartOrTheOwner()
    {
        using var publisher = Connect(fixture.Rampart.Port);
        foreach (string channel in fixture.KeysOnEveryServer("cps:shard"))
        {
            using var subscriber = Connect(fixture.Rampart.Port);
            Assert.Equal(["ssubscribe", channel, "1"], Replies.Array(subscriber.Call("SSUBSCRIBE", channel)));
            var owner = fixture.OwnerOf(channel);
            using (var direct = Connect(owner.Port))
                Assert.Equal([channel, "1"], Replies.Array(direct.Call("PUBSUB", "SHARDNUMSUB", channel)));

            Assert.Equal("1", publisher.Ask("SPUBLISH", channel, "via rampart"));
            Assert.Equal(["smessage", channel, "via rampart"], Replies.Array(subscriber.ReadReply()));
            using (var direct = Connect(owner.Port))
                Assert.Equal("1", direct.Ask("SPUBLISH", channel, "on the owner"));
            Assert.Equal(["smessage", channel, "on the owner"], Replies.Array(subscriber.ReadReply()));
        }
    }

    [Fact]
    public void ShardChannels_OfTwoSlots_GetRedisCrossSlotError()
    {
        var channels = fixture.KeysOnEveryServer("cps:cross");
        using var subscriber = Connect(fixture.Rampart.Port);
        Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", subscriber.Ask("SSUBSCRIBE", channels[0], channels[1]));
        Assert.Equal(["ssubscribe", channels[0], "1"], Replies.Array(subscriber.Call("SSUBSCRIBE", channels[0])));
        // As on a cluster node: a subscriber's shard channels all share one slot.
        Assert.Equal("-CROSSSLOT Keys in request don't hash to the same slot", subscriber.Ask("SSUBSCRIBE", channels[1]));
    }
}
