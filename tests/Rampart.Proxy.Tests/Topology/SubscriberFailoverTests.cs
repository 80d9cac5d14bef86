using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Topology;

/// <summary>
/// Subscribers through a Sentinel pool: when the confirmed master changes, their dedicated connections move to the
/// new master and their subscriptions are restored there, on the same client connection, counted in the stats.
/// </summary>
public sealed class SubscriberFailoverTests
{
    private static PoolConfig Pool(SentinelTopology topology) => SentinelPoolConfig.For(topology);

    [Fact]
    public async Task Failover_ResubscribesOnTheNewMaster_OnTheSameClientConnection()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var rampart = await RampartUnderTest.StartAsync(Pool(topology));
        using var publisher = RespTestClient.ConnectTcp(rampart.Port);
        // PING is answered by Rampart itself; SET needs the confirmed master.
        await WaitUntilAsync(() => publisher.Ask("SET", "ready", "1") == "OK", TimeSpan.FromSeconds(10));
        using var subscriber = await BlockingCommandTests.LineClient.ConnectAsync(rampart.Port);
        await subscriber.SendAsync("SUBSCRIBE", "orders");
        Assert.Equal(PubSubTests.Confirmation("subscribe", "orders", 1), await subscriber.ReadLinesAsync(6));
        await subscriber.SendAsync("PSUBSCRIBE", "audit.*");
        await subscriber.ReadLinesAsync(6);
        Assert.Equal("1", publisher.Ask("PUBLISH", "orders", "before"));
        Assert.Equal(PubSubTests.Message("orders", "before"), await subscriber.ReadLinesAsync(7));

        int oldMaster = topology.CurrentMasterPort();
        topology.TriggerFailover();
        int newMaster = await topology.WaitForMasterChangeAsync(oldMaster, TimeSpan.FromSeconds(20));
        Assert.NotEqual(oldMaster, newMaster);

        // Publish through Rampart until the new master has our subscriber again (messages in the gap may be lost).
        var server = rampart.Server.GetPool("ha").Routing.Default;
        await WaitUntilAsync(() => server.Pinned.Resubscribes >= 1, TimeSpan.FromSeconds(20));
        await WaitUntilAsync(() => publisher.Ask("PUBLISH", "orders", "probe") == "1", TimeSpan.FromSeconds(20));
        Assert.Equal("1", publisher.Ask("PUBLISH", "audit.login", "after"));
        string[] lines;
        do lines = await subscriber.ReadLinesAsync(7);
        while (lines[2] == "message" && lines[6] == "probe");
        Assert.Equal(["*4", "$8", "pmessage", "$7", "audit.*", "$11", "audit.login"], lines);
        Assert.Equal(["$5", "after"], await subscriber.ReadLinesAsync(2));

        // The subscription now lives on the new master, and the count shows in the stats.
        var direct = topology.AskNode(topology.NodeIndexOf(newMaster), "PUBSUB", "NUMSUB", "orders");
        Assert.Equal(1L, Convert.ToInt64(((object?[])direct!)[1] is byte[] b ? System.Text.Encoding.ASCII.GetString(b) : ((object?[])direct!)[1]));
        using var stats = System.Text.Json.JsonDocument.Parse(rampart.Server.GetTwemproxyStatsJson());
        Assert.True(stats.RootElement.GetProperty("ha").GetProperty("mymaster").GetProperty("pubsub_resubscribes").GetInt64() >= 1);
    }

    /// <summary>The same for a RESP3 subscriber: push frames before and after, the push confirmations swallowed.</summary>
    [Fact]
    public async Task Failover_ResubscribesAResp3Subscriber_WithPushFrames()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var rampart = await RampartUnderTest.StartAsync(Pool(topology));
        using var publisher = RespTestClient.ConnectTcp(rampart.Port);
        await WaitUntilAsync(() => publisher.Ask("SET", "ready", "1") == "OK", TimeSpan.FromSeconds(10));
        using var subscriber = Resp3Client.ConnectResp3(rampart.Port);
        Assert.Equal(">3\r\n$9\r\nsubscribe\r\n$6\r\norders\r\n:1\r\n", subscriber.Call("SUBSCRIBE", "orders"));
        Assert.Equal("1", publisher.Ask("PUBLISH", "orders", "before"));
        Assert.Equal(">3\r\n$7\r\nmessage\r\n$6\r\norders\r\n$6\r\nbefore\r\n", subscriber.Read());

        int oldMaster = topology.CurrentMasterPort();
        topology.TriggerFailover();
        Assert.NotEqual(oldMaster, await topology.WaitForMasterChangeAsync(oldMaster, TimeSpan.FromSeconds(20)));
        var server = rampart.Server.GetPool("ha").Routing.Default;
        await WaitUntilAsync(() => server.Pinned.Resubscribes >= 1, TimeSpan.FromSeconds(20));
        await WaitUntilAsync(() => publisher.Ask("PUBLISH", "orders", "probe") == "1", TimeSpan.FromSeconds(20));
        Assert.Equal("1", publisher.Ask("PUBLISH", "orders", "after"));
        string frame;
        do frame = subscriber.Read();
        while (frame == ">3\r\n$7\r\nmessage\r\n$6\r\norders\r\n$5\r\nprobe\r\n");
        Assert.Equal(">3\r\n$7\r\nmessage\r\n$6\r\norders\r\n$5\r\nafter\r\n", frame);
        Assert.Equal("_\r\n", subscriber.Call("GET", "resp3:none")); // any command while subscribed, on the new master
    }
}
