using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>Three real servers behind one pool: multi-key commands split and merged, keyless commands decided.</summary>
public sealed class ShardedPoolFixture : IAsyncLifetime, IProxiedPool
{
    public RedisServerProcess[] Servers { get; private set; } = [];
    public RampartUnderTest Rampart { get; private set; } = null!;
    public RampartUnderTest FlushAllowed { get; private set; } = null!;
    public KeyRouter Router { get; private set; } = null!;
    public ConnectionMultiplexer Client { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Servers = [RedisServerProcess.Start(), RedisServerProcess.Start(), RedisServerProcess.Start()];
        var pool = RampartUnderTest.Pool(Servers) with { HashTag = "{}" };
        Router = KeyRouter.Create(pool);
        Rampart = await RampartUnderTest.StartAsync(pool);
        FlushAllowed = await RampartUnderTest.StartAsync(pool with { Name = "flush", AllowFlush = true });
        Client = await ConnectionMultiplexer.ConnectAsync(Rampart.Endpoint);
    }

    IReadOnlyList<RedisServerProcess> IProxiedPool.Servers => Servers;

    public RedisServerProcess OwnerOf(byte[] key) => Servers[Router.ServerFor(key)];

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (Rampart is not null) await Rampart.DisposeAsync();
        if (FlushAllowed is not null) await FlushAllowed.DisposeAsync();
        foreach (var server in Servers) server.Dispose();
    }
}
