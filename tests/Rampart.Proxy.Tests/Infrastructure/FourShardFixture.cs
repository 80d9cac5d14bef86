using Rampart.Proxy.Routing;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>Four real redis-servers behind one Rampart pool (fnv1a_64, ketama), and a client through Rampart.</summary>
public sealed class FourShardFixture : IAsyncLifetime, IProxiedPool
{
    private RedisServerProcess[] _servers = [];
    private KeyRouter _router = null!;
    private RampartUnderTest _rampart = null!;

    public ConnectionMultiplexer Client { get; private set; } = null!;
    public RampartUnderTest Rampart => _rampart;
    public IReadOnlyList<RedisServerProcess> Servers => _servers;
    public KeyRouter Router => _router;

    public async Task InitializeAsync()
    {
        _servers = Enumerable.Range(0, 4).Select(_ => RedisServerProcess.Start()).ToArray();
        var pool = RampartUnderTest.Pool(_servers);
        _router = KeyRouter.Create(pool);
        _rampart = await RampartUnderTest.StartAsync(pool);
        Client = await ConnectionMultiplexer.ConnectAsync(_rampart.Endpoint);
    }

    public RedisServerProcess OwnerOf(byte[] key) => _servers[_router.ServerFor(key)];

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (_rampart is not null) await _rampart.DisposeAsync();
        foreach (var s in _servers) s.Dispose();
    }
}
