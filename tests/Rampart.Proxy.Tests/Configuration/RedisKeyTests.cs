namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// The 'redis' key has no default in Rampart. nutcracker's default is redis: false, so a pool without the key is a
/// memcached pool there; Rampart speaks only Redis, so it refuses such a pool (on the pool's line) instead of quietly
/// serving it with the other protocol, and refuses an explicit redis: false as before.
/// </summary>
public class RedisKeyTests
{
    private const string NotSet = "'redis' is not set, so nutcracker would serve this pool as memcached; Rampart speaks the Redis protocol only: add 'redis: true'";

    [Fact]
    public void AbsentRedisKeyIsRefusedOnThePoolLine()
    {
        var error = ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:6379:1\n", 1, NotSet);
        Assert.Equal($"pool 'p': {NotSet}", error.Message);
        Assert.Equal($"test.yml:1: pool 'p': {NotSet}", error.ToString());
    }

    [Fact]
    public void AbsentRedisKeyIsReportedOnThatPoolsNameLineOnly()
    {
        var errors = ConfigAssert.Invalid("""
            # two pools, the second without 'redis'
            with:
              listen: 127.0.0.1:22121
              redis: true
              servers:
               - 127.0.0.1:6379:1

            without:
              listen: 127.0.0.1:22122
              timeout: 400
              servers:
               - 127.0.0.1:6380:1
            """);
        var error = Assert.Single(errors);
        Assert.Equal($"test.yml:8: pool 'without': {NotSet}", error.ToString());
    }

    [Theory]
    [InlineData("  redis: true\n  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:6379:1\n")]
    [InlineData("  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n")]
    [InlineData("  listen: 127.0.0.1:22121\n  servers:\n   - 127.0.0.1:6379:1\n  redis: true\n")]
    [InlineData("  listen: 127.0.0.1:22121\n  redis: \"true\"\n  servers:\n   - 127.0.0.1:6379:1\n")]
    public void RedisTrueAnywhereInThePoolIsAccepted(string body)
    {
        var pool = ConfigAssert.SinglePool("p:\n" + body);
        Assert.Equal("p", pool.Name);
        Assert.Equal(1, pool.Line);
    }

    [Fact]
    public void RedisFalseIsRefusedOnItsLineAndNotAsMissing()
    {
        var error = ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n  redis: false\n  servers:\n   - 127.0.0.1:6379:1\n", 3,
            "pool 'p': memcached pools (redis: false) are not supported; Rampart speaks the Redis protocol only");
        Assert.Equal("pool 'p': memcached pools (redis: false) are not supported; Rampart speaks the Redis protocol only", error.Message);
    }

    [Fact]
    public void RedisWithABadValueIsRefusedForTheValueNotAsMissing() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:22121\n  redis: yes\n  servers:\n   - 127.0.0.1:6379:1\n", 3,
            "pool 'p': redis must be true or false, got 'yes'");

    [Fact]
    public void AbsentRedisKeyIsReportedBesideThePoolsOtherErrors()
    {
        var errors = ConfigAssert.Invalid("p:\n  listen: 127.0.0.1:22121\n  hash: nope\n  servers:\n   - 127.0.0.1:6379:1\n");
        Assert.Equal(
        [
            $"test.yml:1: pool 'p': {NotSet}",
            "test.yml:3: pool 'p': hash 'nope' is not valid; expected one of: one_at_a_time, md5, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins",
        ], errors.Select(e => e.ToString()));
    }
}
