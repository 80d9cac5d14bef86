using System.Text;
using Rampart.Proxy.Routing;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// SSUBSCRIBE through a cluster pool follows its slot: when the slot moves, Redis tells the subscriber "sunsubscribe";
/// Rampart keeps that from the client, subscribes again on the new owner, and messages published after the move
/// (through Rampart or on the owner itself) reach the client.
/// </summary>
public sealed class ClusterShardSubscriptionTests(ClusterPinnedFixture fixture) : IClassFixture<ClusterPinnedFixture>
{
    private RedisClusterProcess Cluster => fixture.Cluster;

    private static string ShardSubscribers(RedisServerProcess node, string channel) =>
        node.Send(RespText.Command("PUBSUB", "SHARDNUMSUB", channel));

    private static object?[] Frame(RespTestClient client) => (object?[])RespTestClient.AsText(client.ReadReply())!;

    /// <summary>A client of Rampart subscribed to <paramref name="channel"/> (its confirmation read).</summary>
    private RespTestClient ShardSubscriber(string channel)
    {
        var subscriber = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        subscriber.ReadTimeoutMs = 10_000;
        subscriber.Send(RespTestClient.Command("SSUBSCRIBE", channel));
        Assert.Equal(new object?[] { "ssubscribe", channel, 1L }, Frame(subscriber));
        return subscriber;
    }

    [Fact]
    public void ShardSubscription_FollowsItsSlot_AndTheClientSeesNoSunsubscribe()
    {
        const string channel = "{news}prices";
        int slot = ClusterSlot.Of(Encoding.UTF8.GetBytes(channel));
        var source = ClusterSlots.OwnerOf(Cluster, channel);
        var target = ClusterSlots.OtherThan(Cluster, source);
        using var subscriber = ShardSubscriber(channel);
        Assert.Contains(":1\r\n", ShardSubscribers(source, channel));

        ClusterSlots.Migrate(Cluster, slot, source, target); // the source unsubscribes the channel: "sunsubscribe"

        Assert.True(Poll.WaitUntil(() => ShardSubscribers(target, channel).Contains(":1\r\n"), TimeSpan.FromSeconds(10)),
            "Rampart never subscribed again on the slot's new owner");
        Assert.Contains(":0\r\n", ShardSubscribers(source, channel));
        using var publisher = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        Assert.Equal(1L, publisher.Call("SPUBLISH", channel, "through-rampart"));
        Assert.Equal(":1\r\n", target.Send(RespText.Command("SPUBLISH", channel, "on-the-owner")));

        // The next frames are exactly the two messages: no sunsubscribe (nor a second confirmation) came first.
        Assert.Equal(new object?[] { "smessage", channel, "through-rampart" }, Frame(subscriber));
        Assert.Equal(new object?[] { "smessage", channel, "on-the-owner" }, Frame(subscriber));
        subscriber.Send(RespTestClient.Command("PING"));
        Assert.Equal(new object?[] { "pong", "" }, Frame(subscriber));
    }

    [Fact]
    public void ShardSubscribe_AfterItsSlotMoved_GoesToTheNewOwner()
    {
        const string channel = "{late}orders";
        int slot = ClusterSlot.Of(Encoding.UTF8.GetBytes(channel));
        var source = ClusterSlots.OwnerOf(Cluster, channel);
        var target = ClusterSlots.OtherThan(Cluster, source);
        ClusterSlots.Migrate(Cluster, slot, source, target); // Rampart's map still names the source
        long moved = fixture.Redirects().Moved;

        using var subscriber = ShardSubscriber(channel); // MOVED on the source, followed
        Assert.Contains(":1\r\n", ShardSubscribers(target, channel));
        Assert.True(fixture.Redirects().Moved > moved, "the SSUBSCRIBE was never redirected: the test did not exercise a move");
        Assert.Equal(":1\r\n", target.Send(RespText.Command("SPUBLISH", channel, "hello")));
        Assert.Equal(new object?[] { "smessage", channel, "hello" }, Frame(subscriber));
    }

    [Fact]
    public void ClientsOwnSunsubscribe_IsConfirmedAsUsual()
    {
        const string channel = "{alerts}disk";
        using var subscriber = ShardSubscriber(channel);
        subscriber.Send(RespTestClient.Command("SUNSUBSCRIBE", channel));
        Assert.Equal(new object?[] { "sunsubscribe", channel, 0L }, Frame(subscriber));
        Assert.Equal("PONG", subscriber.Call("PING")); // out of subscribed mode, as with Redis
    }
}
