using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Topology;

/// <summary>
/// Warm dedicated connections (pinned_min_idle) through a Sentinel failover: those to the old master are closed with
/// every other connection there and never lent; new ones are opened to the new master, where blocking calls then run.
/// </summary>
public sealed class WarmConnectionFailoverTests
{
    [Fact]
    public async Task Failover_ClosesWarmConnectionsToTheOldMaster_AndWarmsTheNewOne()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var rampart = await RampartUnderTest.StartAsync(SentinelPoolConfig.For(topology));
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        await WaitUntilAsync(() => client.Ask("SET", "ready", "1") == "OK", TimeSpan.FromSeconds(10));
        var pinned = rampart.Server.GetPool("ha").Routing.Default.Pinned;
        await WaitUntilAsync(() => pinned.Idle >= 2, TimeSpan.FromSeconds(10));

        int oldMaster = topology.CurrentMasterPort();
        int oldIndex = topology.NodeIndexOf(oldMaster);
        Assert.True(RampartConnections(topology, oldIndex) >= 3); // the shared connection and the two warm ones
        topology.TriggerFailover();
        int newMaster = await topology.WaitForMasterChangeAsync(oldMaster, TimeSpan.FromSeconds(20));

        // Nothing of Rampart's stays on the old master; warm connections wait on the new one.
        await WaitUntilAsync(() => client.Ask("SET", "after", "1") == "OK", TimeSpan.FromSeconds(20));
        await WaitUntilAsync(() => RampartConnections(topology, oldIndex) == 0, TimeSpan.FromSeconds(20));
        await WaitUntilAsync(() => pinned.Idle >= 2, TimeSpan.FromSeconds(20));
        Assert.True(RampartConnections(topology, topology.NodeIndexOf(newMaster)) >= 3);
        using (var stats = System.Text.Json.JsonDocument.Parse(rampart.Server.GetTwemproxyStatsJson()))
            Assert.True(stats.RootElement.GetProperty("ha").GetProperty("mymaster").GetProperty("pinned_idle").GetInt32() >= 2);

        // A blocking call takes a warm connection: it runs on the new master and another client's write wakes it.
        using var waiter = Resp3Client.Connect(rampart.Port);
        waiter.Send("BLPOP", "warm:failover", "0");
        await WaitUntilAsync(() => (Replies.Text(topology.AskNode(topology.NodeIndexOf(newMaster), "INFO", "clients")) ?? "").Contains("blocked_clients:1", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Equal("1", client.Ask("RPUSH", "warm:failover", "v"));
        Assert.Equal("*2\r\n$13\r\nwarm:failover\r\n$1\r\nv\r\n", waiter.Read());
    }

    private static int RampartConnections(SentinelTopology topology, int node)
    {
        string list = Replies.Text(topology.AskNode(node, "CLIENT", "LIST")) ?? "";
        return list.Split('\n').Count(l => l.Contains(" name=rampart ", StringComparison.Ordinal));
    }
}
