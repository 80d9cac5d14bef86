using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// The example configuration of twemproxy's README and its conf/nutcracker.yml, unchanged (corpus/invalid, followed
/// only by comments). Their pools gamma, delta and omega have no <c>redis</c> key, so nutcracker serves them as
/// memcached (its default is redis: false); Rampart speaks only Redis and refuses exactly those pools.
/// </summary>
public class TwemproxyExampleTests
{
    private const string NotSet = "'redis' is not set, so nutcracker would serve this pool as memcached; Rampart speaks the Redis protocol only: add 'redis: true'";
    private const string Memcached = "memcached pools (redis: false) are not supported; Rampart speaks the Redis protocol only";

    private static string Corpus(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Configuration", "corpus", name));

    /// <summary><paramref name="yaml"/> with "  redis: VALUE" as the first key of each named pool.</summary>
    private static string WithRedis(string yaml, string value, params string[] pools)
    {
        foreach (var pool in pools)
        {
            var header = $"\n{pool}:\n";
            Assert.Equal(1, yaml.Split(header).Length - 1);
            yaml = yaml.Replace(header, $"{header}  redis: {value}\n");
        }
        return yaml;
    }

    [Theory]
    [InlineData("invalid/twemproxy-readme.yml")]
    [InlineData("invalid/twemproxy-conf-example.yml")]
    public void PoolsWithoutRedisKeyAreRefusedOnTheirLines(string file)
    {
        var errors = ConfigAssert.Invalid(Corpus(file));
        Assert.Equal(
        [
            $"test.yml:26: pool 'gamma': {NotSet}",
            $"test.yml:40: pool 'delta': {NotSet}",
            $"test.yml:60: pool 'omega': {NotSet}",
        ], errors.Select(e => e.ToString()));
    }

    [Fact]
    public void ReadmeExampleLoadsOnceItsMemcachedPoolsSayRedisTrue()
    {
        var config = ConfigAssert.Valid(WithRedis(Corpus("invalid/twemproxy-readme.yml"), "true", "gamma", "delta", "omega"));
        Assert.Equal(["alpha", "beta", "gamma", "delta", "omega"], config.Pools.Select(p => p.Name));
        Assert.Equal([1, 12, 26, 41, 62], config.Pools.Select(p => p.Line));

        var alpha = config.Pools[0];
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

    [Fact]
    public void ConfExampleLoadsOnceItsMemcachedPoolsSayRedisTrue()
    {
        var config = ConfigAssert.Valid(WithRedis(Corpus("invalid/twemproxy-conf-example.yml"), "true", "gamma", "delta", "omega"));
        Assert.Equal(5, config.Pools.Count);
        Assert.Equal(new ListenAddress { UnixPath = "/tmp/gamma" }, config.Pools[4].Listen);
    }

    [Fact]
    public void ReadmeMemcachedPoolsWithExplicitRedisFalseAreRefused()
    {
        // The README's memcached pools, saying what they mean explicitly: refused for that, not for a missing key.
        var errors = ConfigAssert.Invalid(WithRedis(Corpus("invalid/twemproxy-readme.yml"), "false", "gamma", "delta", "omega"));
        Assert.Equal(
        [
            $"test.yml:27: pool 'gamma': {Memcached}",
            $"test.yml:42: pool 'delta': {Memcached}",
            $"test.yml:63: pool 'omega': {Memcached}",
        ], errors.Select(e => e.ToString()));
    }
}
