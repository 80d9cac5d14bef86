using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Compatibility;

/// <summary>
/// The processes the differential suite compares, started once per test class: a redis-server used directly (the
/// reference), and one Rampart pool of each <see cref="PoolKind"/> with its own redis-servers. Every redis-server has
/// <c>--enable-debug-command yes</c> where the launcher allows it (the Sentinel topology's nodes do not), so DEBUG
/// answers the same from the reference as from a pool's server. <see cref="Reset"/> empties the reference and one
/// pool's servers, so each run starts from the same state on both sides.
/// </summary>
public sealed class DifferentialFixture : IAsyncLifetime
{
    private static readonly string[] DebugEnabled = ["--enable-debug-command", "yes"];

    private RedisServerProcess? _singleServer;
    private RedisServerProcess[] _shards = [];
    private SentinelTopology? _topology;
    private RampartUnderTest? _single, _sharded, _sentinel;

    public RedisServerProcess Direct { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        try
        {
            await StartAllAsync();
        }
        catch
        {
            await DisposeAsync(); // whatever started is killed, also when start-up fails half-way
            throw;
        }
    }

    private async Task StartAllAsync()
    {
        Direct = RedisServerProcess.Start(DebugEnabled);
        _singleServer = RedisServerProcess.Start(DebugEnabled);
        _shards = Enumerable.Range(0, 3).Select(_ => RedisServerProcess.Start(DebugEnabled)).ToArray();
        var topologyStart = SentinelTopology.StartAsync(new SentinelTopologyOptions { ReplicaCount = 0, SentinelCount = 1 });
        _single = await RampartUnderTest.StartAsync(_singleServer);
        _sharded = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(_shards) with { HashTag = "{}" });
        _topology = await topologyStart;
        _sentinel = await RampartUnderTest.StartAsync(SentinelPoolConfig.For(_topology));
        await WaitUntilServingAsync(_sentinel.Port);
    }

    public int RampartPort(PoolKind kind) => kind switch
    {
        PoolKind.Single => _single!.Port,
        PoolKind.Sharded => _sharded!.Port,
        PoolKind.Sentinel => _sentinel!.Port,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The redis-servers behind the pool of <paramref name="kind"/>.</summary>
    public IReadOnlyList<int> ServerPorts(PoolKind kind) => kind switch
    {
        PoolKind.Single => [_singleServer!.Port],
        PoolKind.Sharded => _shards.Select(s => s.Port).ToArray(),
        PoolKind.Sentinel => [_topology!.NodePorts[0]],
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Empties keys, scripts and functions on the reference and on every server of the pool of <paramref name="kind"/>.</summary>
    public void Reset(PoolKind kind)
    {
        foreach (int port in ServerPorts(kind).Prepend(Direct.Port))
        {
            using var client = RespTestClient.ConnectTcp(port);
            foreach (var command in new[] { new[] { "FLUSHALL" }, ["SCRIPT", "FLUSH"], ["FUNCTION", "FLUSH"] })
            {
                if (client.Call(command) is not "OK") throw new InvalidOperationException($"{string.Join(' ', command)} failed on :{port}");
            }
        }
    }

    /// <summary>A Sentinel pool answers once its master is confirmed; wait for that (bounded) before any comparison.</summary>
    private static async Task WaitUntilServingAsync(int port)
    {
        using var client = new RawClient(port);
        string reply = await client.RepeatUntilAsync(RespText.Command("EXISTS", "{t}ready"), ":0", TimeSpan.FromSeconds(20));
        if (reply != ":0") throw new TimeoutException($"the Sentinel pool did not serve within 20 s: {reply}");
    }

    public async Task DisposeAsync()
    {
        foreach (var rampart in new[] { _single, _sharded, _sentinel })
        {
            if (rampart is not null) await rampart.DisposeAsync();
        }
        _topology?.Dispose();
        foreach (var shard in _shards) shard.Dispose();
        _singleServer?.Dispose();
        (Direct as IDisposable)?.Dispose();
    }
}
