using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.ClientLibraries;

/// <summary>
/// ioredis and node-redis, unchanged, in front of a cluster pool: as plain clients (ioredis <c>Redis</c>, node-redis
/// <c>createClient</c>) and as cluster clients pointed at Rampart (<c>Redis.Cluster</c>, <c>createCluster</c> with
/// Rampart as the root node), which read Rampart's one-node cluster view and send everything to it. The same scripts
/// as <see cref="NodeClientTests"/>; their keys are then read on the masters that own them, at least two of them.
/// </summary>
public sealed class NodeClusterClientTests(ClusterPoolFixture fixture) : IClassFixture<ClusterPoolFixture>
{
    [Theory]
    [InlineData("ioredis.js")]
    [InlineData("ioredis.js", "--cluster")]
    [InlineData("node-redis.js")]
    [InlineData("node-redis.js", "--cluster")]
    public Task Library_CommonOperations_ThroughAClusterPool(string script, string? option = null) =>
        NodeScripts.RunAndCheckAsync(script, fixture, option);
}
