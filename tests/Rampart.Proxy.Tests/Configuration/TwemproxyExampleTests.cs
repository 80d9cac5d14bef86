using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>The example configuration of twemproxy's README (conf/nutcracker.yml), unchanged.</summary>
public class TwemproxyExampleTests
{
    private static string Corpus(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Configuration", "corpus", name));

    [Fact]
    public void ReadmeExampleLoadsUnchanged()
    {
        var config = ConfigAssert.Valid(Corpus("valid/twemproxy-readme.yml"));
        Assert.Equal(["alpha", "beta", "gamma", "delta", "omega"], config.Pools.Select(p => p.Name));

        var alpha = config.Pools[0];
        Assert.Equal(1, alpha.Line);
        Assert.Equal(new ListenAddress { Host = "127.0.0.1", Port = 22121 }, alpha.Listen);
        Assert.Equal("fnv1a_64", alpha.Hash);
        Assert.Equal("ketama", alpha.Distribution);
        Assert.True(alpha.AutoEjectHosts);
        Assert.Equal(2000, alpha.ServerRetryTimeoutMs);
        Assert.Equal(1, alpha.ServerFailureLimit);
        var s = Assert.Single(alpha.Servers);
        Assert.Equal(("127.0.0.1", 6379, 1, (string?)null, 10), (s.Host, s.Port, s.Weight, s.Name, s.Line));

        var beta = config.Pools[1];
        Assert.Equal("{}", beta.HashTag);
        Assert.Equal(400, beta.TimeoutMs);
        Assert.False(beta.AutoEjectHosts);
        Assert.Equal(["server1", "server2", "server3", "server4"], beta.Servers.Select(x => x.Name));
        Assert.Equal([6380, 6381, 6382, 6383], beta.Servers.Select(x => x.Port));

        var gamma = config.Pools[2];
        Assert.Equal(1024, gamma.Backlog);
        Assert.True(gamma.Preconnect);
        Assert.Equal(3, gamma.ServerFailureLimit);

        Assert.Equal(10, config.Pools[3].Servers.Count);
        Assert.Equal(100, config.Pools[3].TimeoutMs);

        var omega = config.Pools[4];
        Assert.Equal(new ListenAddress { UnixPath = "/tmp/gamma", UnixMode = 0x1B6 /* 0666 */ }, omega.Listen);
        Assert.Equal("hsieh", omega.Hash);
        Assert.Equal(100000, omega.Servers[0].Weight);
    }

    /// <summary>
    /// gamma, delta and omega are memcached pools in twemproxy only because its default is redis: false. Rampart's
    /// default is redis (see PoolConfigReader), so the file loads unchanged and serves them as Redis pools.
    /// </summary>
    [Fact]
    public void PoolsWithoutRedisKeyAreRedisPools()
    {
        var config = ConfigAssert.Valid(Corpus("valid/twemproxy-conf-example.yml"));
        Assert.Equal(5, config.Pools.Count);
        Assert.Equal(new ListenAddress { UnixPath = "/tmp/gamma" }, config.Pools[4].Listen);
    }

    [Fact]
    public void ReadmeMemcachedPoolsWithExplicitRedisFalseAreRefused()
    {
        // The README's memcached pools, saying what they mean explicitly.
        var yaml = Corpus("valid/twemproxy-readme.yml")
            .Replace("gamma:\n", "gamma:\n  redis: false\n")
            .Replace("omega:\n", "omega:\n  redis: false\n");
        var errors = ConfigAssert.Invalid(yaml);
        Assert.Equal(2, errors.Count);
        Assert.Equal("test.yml:27: pool 'gamma': memcached pools (redis: false) are not supported; Rampart speaks the Redis protocol only", errors[0].ToString());
        Assert.Equal("pool 'omega': memcached pools (redis: false) are not supported; Rampart speaks the Redis protocol only", errors[1].Message);
    }
}
