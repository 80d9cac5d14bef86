using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>One real redis-server with Rampart in front and a StackExchange.Redis client through Rampart, per test class.</summary>
public sealed class ProxiedRedisFixture : IAsyncLifetime, IProxiedPool
{
    public RedisServerProcess Redis { get; private set; } = null!;
    public RampartUnderTest Rampart { get; private set; } = null!;
    public ConnectionMultiplexer Client { get; private set; } = null!;
    /// <summary>A client straight to the server, to check what Rampart did.</summary>
    public ConnectionMultiplexer Direct { get; private set; } = null!;

    public IReadOnlyList<RedisServerProcess> Servers => [Redis];

    public RedisServerProcess OwnerOf(byte[] key) => Redis;

    public async Task InitializeAsync()
    {
        Redis = RedisServerProcess.Start();
        Rampart = await RampartUnderTest.StartAsync(Redis);
        Client = await ConnectionMultiplexer.ConnectAsync(Rampart.Endpoint);
        Direct = await ConnectionMultiplexer.ConnectAsync($"{Redis.Endpoint},allowAdmin=true");
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        Direct?.Dispose();
        if (Rampart is not null) await Rampart.DisposeAsync();
        Redis?.Dispose();
    }
}
