using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;
using Xunit.Abstractions;

namespace Rampart.Proxy.Tests.ClientLibraries;

/// <summary>
/// StackExchange.Redis in cluster mode (its defaults) in front of a cluster pool: it reads CLUSTER NODES from Rampart,
/// sees one node owning every slot, and sends everything there; Rampart spreads the keys over the real masters.
/// </summary>
public sealed class StackExchangeRedisClusterModeTests(ClusterPoolFixture fixture, ITestOutputHelper output)
    : StackExchangeRedisTests(fixture.Rampart, output), IClassFixture<ClusterPoolFixture>
{
    protected override string? DirectGet(string key) => fixture.DirectGet(key);

    [Fact]
    public async Task DefaultConnect_SeesOneClusterNodeOwningEverySlot()
    {
        await using var mux = await ConnectAsync();
        var server = mux.GetServer(fixture.Rampart.Endpoint);
        Assert.Equal(ServerType.Cluster, server.ServerType);
        var node = Assert.Single(server.ClusterConfiguration!.Nodes);
        Assert.Equal(fixture.Rampart.Endpoint, node.EndPoint!.ToString());
        Assert.Equal(16384, node.Slots.Sum(r => r.To - r.From + 1));
        Assert.Single(mux.GetEndPoints());
    }

    [Fact]
    public async Task KeysOfEveryMaster_AreStoredOnTheirOwners() =>
        await StackExchangeRedisClusterPool.WriteAndCheckOnOwners(await ConnectAsync(), fixture);
}

/// <summary>
/// StackExchange.Redis as a standalone client of a cluster pool (CLUSTER disabled in its command map, so it never
/// learns of slots): the same operations, keys spread over the real masters by Rampart alone.
/// </summary>
public sealed class StackExchangeRedisStandaloneOnClusterTests(ClusterPoolFixture fixture, ITestOutputHelper output)
    : StackExchangeRedisTests(fixture.Rampart, output), IClassFixture<ClusterPoolFixture>
{
    protected override ConfigurationOptions Options() => ClusterPoolFixture.Standalone(fixture.Rampart.Endpoint);

    protected override string? DirectGet(string key) => fixture.DirectGet(key);

    [Fact]
    public async Task Connect_IsStandalone()
    {
        await using var mux = await ConnectAsync();
        Assert.Equal(ServerType.Standalone, mux.GetServer(fixture.Rampart.Endpoint).ServerType);
    }

    [Fact]
    public async Task KeysOfEveryMaster_AreStoredOnTheirOwners() =>
        await StackExchangeRedisClusterPool.WriteAndCheckOnOwners(await ConnectAsync(), fixture);
}

internal static class StackExchangeRedisClusterPool
{
    /// <summary>One batch of writes over keys of every master, each value then read on the master serving its slot.</summary>
    public static async Task WriteAndCheckOnOwners(ConnectionMultiplexer mux, ClusterPoolFixture fixture)
    {
        await using var _ = mux;
        var db = mux.GetDatabase();
        var keys = Enumerable.Range(0, 10).SelectMany(i => fixture.KeysOnEveryServer($"se:spread{i}")).ToArray();
        var values = keys.ToDictionary(k => k, _ => Guid.NewGuid().ToString());
        var batch = db.CreateBatch();
        var sets = keys.Select(k => batch.StringSetAsync(k, values[k])).ToArray();
        batch.Execute();
        Assert.All(await Task.WhenAll(sets), Assert.True);
        Assert.Equal(3, keys.Select(k => fixture.OwnerOf(k).Port).Distinct().Count());
        foreach (var k in keys) Assert.Equal(values[k], fixture.DirectGet(k));
    }
}
