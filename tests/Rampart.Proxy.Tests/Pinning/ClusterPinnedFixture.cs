using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// A real three-master Redis Cluster and Rampart in front of it, for one test class whose tests each move their own
/// slot (so they do not disturb each other). The pool checks the slot map only once a minute: after a test moves a
/// slot, Rampart's map still names the old owner until a MOVED tells it otherwise, so the redirect path is the one
/// exercised, not a timely refresh.
/// </summary>
public sealed class ClusterPinnedFixture : IAsyncLifetime
{
    public RedisClusterProcess Cluster { get; private set; } = null!;
    public RampartUnderTest Rampart { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Cluster = RedisClusterProcess.Start();
        var pool = ClusterPoolConfig.For(Cluster);
        pool = pool with { Cluster = pool.Cluster! with { RefreshIntervalMs = 60_000 } };
        Rampart = await RampartUnderTest.StartAsync(pool);
        if (!ClusterPoolConfig.WaitForSlotMap(Rampart)) throw new InvalidOperationException("no slot map within 10 s");
    }

    /// <summary>MOVED and ASK replies Rampart has followed so far, over every master.</summary>
    public (long Moved, long Asked) Redirects()
    {
        var servers = Rampart.Server.Pools.Single().Routing.Servers;
        return (servers.Sum(s => s.Stats.Moved), servers.Sum(s => s.Stats.Asked));
    }

    public async Task DisposeAsync()
    {
        if (Rampart is not null) await Rampart.DisposeAsync();
        Cluster?.Dispose();
    }
}
