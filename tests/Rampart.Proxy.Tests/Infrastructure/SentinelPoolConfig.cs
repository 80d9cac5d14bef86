using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>A Rampart pool in front of a <see cref="SentinelTopology"/>: its sentinels, its quorum, its one master name.</summary>
public static class SentinelPoolConfig
{
    public static PoolConfig For(SentinelTopology topology, string? sentinelPassword = null, string? redisAuth = null,
        int checkIntervalMs = 250, int timeoutMs = 1000) => new()
    {
        Name = "ha",
        Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
        TimeoutMs = timeoutMs,
        RedisAuth = redisAuth,
        Sentinel = new SentinelConfig
        {
            Addresses = topology.SentinelPorts.Select(p => new SentinelAddress { Host = "127.0.0.1", Port = p }).ToList(),
            Quorum = topology.Quorum,
            Password = sentinelPassword,
            CheckIntervalMs = checkIntervalMs,
        },
        Servers = [new ServerConfig { Host = topology.MasterName, Name = topology.MasterName, Port = 0, Weight = 1 }],
    };
}
