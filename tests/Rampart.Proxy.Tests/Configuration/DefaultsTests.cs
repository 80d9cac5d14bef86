using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// Every default is nutcracker's (nc_conf.h CONF_DEFAULT_*), except where Rampart says otherwise. 'redis' has no
/// default in Rampart: nutcracker's is false (memcached), so every pool must say redis: true (see RedisKeyTests).
/// </summary>
public class DefaultsTests
{
    private const string Minimal = """
        cache:
          listen: 127.0.0.1:22121
          redis: true
          servers:
           - 127.0.0.1:6379:1
        """;

    [Fact]
    public void AbsentKeysTakeNutcrackerDefaults()
    {
        var pool = ConfigAssert.SinglePool(Minimal);
        Assert.Equal("cache", pool.Name);
        Assert.Equal(512, pool.Backlog);                 // CONF_DEFAULT_LISTEN_BACKLOG
        Assert.Equal(0, pool.ClientConnections);         // CONF_DEFAULT_CLIENT_CONNECTIONS (unlimited)
        Assert.Null(pool.TimeoutMs);                     // CONF_DEFAULT_TIMEOUT -1: wait forever
        Assert.False(pool.Preconnect);                   // CONF_DEFAULT_PRECONNECT
        Assert.Equal(1, pool.ServerConnections);         // CONF_DEFAULT_SERVER_CONNECTIONS
        Assert.False(pool.TcpKeepalive);                 // CONF_DEFAULT_TCPKEEPALIVE
        Assert.Equal("fnv1a_64", pool.Hash);             // CONF_DEFAULT_HASH
        Assert.Null(pool.HashTag);
        Assert.Equal("ketama", pool.Distribution);       // CONF_DEFAULT_DIST
        Assert.False(pool.AutoEjectHosts);               // CONF_DEFAULT_AUTO_EJECT_HOSTS
        Assert.Equal(30_000, pool.ServerRetryTimeoutMs); // CONF_DEFAULT_SERVER_RETRY_TIMEOUT
        Assert.Equal(2, pool.ServerFailureLimit);        // CONF_DEFAULT_SERVER_FAILURE_LIMIT
        Assert.Null(pool.RedisAuth);
        Assert.Equal(0, pool.RedisDb);                   // CONF_DEFAULT_REDIS_DB
        Assert.Equal(64L * 1024 * 1024, pool.ClientOutputBufferLimit); // Rampart
        Assert.Equal(128, pool.PinnedConnections); // Rampart
        Assert.Equal(new PinnedReserveConfig(), pool.PinnedReserve); // Rampart: a quarter of pinned_connections each
        Assert.Null(pool.Sentinel);
    }

    [Fact]
    public void NoRampartBlockMeansDefaultSettings()
    {
        var config = ConfigAssert.Valid(Minimal);
        Assert.Equal(new RampartSettings(), config.Settings);
        Assert.Equal(ConfigAssert.Source, config.Source);
    }

    [Fact]
    public void EveryKeyIsRead()
    {
        var pool = ConfigAssert.SinglePool("""
            full:
              listen: 0.0.0.0:22125
              backlog: 1024
              client_connections: 100
              tcpkeepalive: true
              hash: murmur
              hash_tag: "$$"
              distribution: modula
              timeout: 400
              preconnect: true
              redis: true
              redis_auth: s3cret
              redis_db: 2
              server_connections: 4
              auto_eject_hosts: true
              server_retry_timeout: 2000
              server_failure_limit: 3
              client_output_buffer: 1gb
              pinned_connections: 16
              pinned_reserve: {transactions: 2, blocking: 10}
              servers:
               - 127.0.0.1:6379:1 r1
            """);
        Assert.Equal(new ListenAddress { Host = "0.0.0.0", Port = 22125 }, pool.Listen);
        Assert.Equal(1024, pool.Backlog);
        Assert.Equal(100, pool.ClientConnections);
        Assert.True(pool.TcpKeepalive);
        Assert.Equal("murmur", pool.Hash);
        Assert.Equal("$$", pool.HashTag);
        Assert.Equal("modula", pool.Distribution);
        Assert.Equal(400, pool.TimeoutMs);
        Assert.True(pool.Preconnect);
        Assert.Equal("s3cret", pool.RedisAuth);
        Assert.Equal(2, pool.RedisDb);
        Assert.Equal(4, pool.ServerConnections);
        Assert.True(pool.AutoEjectHosts);
        Assert.Equal(2000, pool.ServerRetryTimeoutMs);
        Assert.Equal(3, pool.ServerFailureLimit);
        Assert.Equal(1L << 30, pool.ClientOutputBufferLimit);
        Assert.Equal(16, pool.PinnedConnections);
        Assert.Equal(new PinnedReserveConfig { Transactions = 2, BlockingCalls = 10 }, pool.PinnedReserve);
        Assert.Equal(2 + 10 + 16 / 4, pool.PinnedReserve.Total(pool.PinnedConnections)); // subscribers: a quarter
    }

    [Fact]
    public void TimeoutZeroMeansNoTimeoutAsInNutcracker()
    {
        var pool = ConfigAssert.SinglePool(Minimal.Replace("  servers:", "  timeout: 0\n  servers:"));
        Assert.Null(pool.TimeoutMs);
    }

    [Theory]
    [InlineData("1048576", 1048576L)]
    [InlineData("64mb", 64L * 1024 * 1024)]
    [InlineData("64MB", 64L * 1024 * 1024)]
    [InlineData("1gb", 1L << 30)]
    [InlineData("512kb", 512L * 1024)]
    [InlineData("100k", 100_000L)]
    [InlineData("2m", 2_000_000L)]
    [InlineData("1g", 1_000_000_000L)]
    public void ClientOutputBufferAcceptsRedisUnits(string text, long bytes)
    {
        var pool = ConfigAssert.SinglePool(Minimal.Replace("  servers:", $"  client_output_buffer: {text}\n  servers:"));
        Assert.Equal(bytes, pool.ClientOutputBufferLimit);
    }
}
