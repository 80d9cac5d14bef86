using Rampart.Proxy.Configuration;
using Rampart.Proxy.Reload;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>
/// The keys of the limits against abuse: per pool <c>client_idle_timeout</c>, <c>auth_timeout</c>,
/// <c>max_connections_per_ip</c>, <c>max_request_size</c>; <c>rampart: {auth_throttle}</c>. Checked by <c>rampart check</c>
/// with file and line, and named in the reload diff.
/// </summary>
public class AbuseLimitKeysTests
{
    private const string Head = "cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n";

    [Fact]
    public void Defaults_LeaveEveryLimitOff_ButTheAuthThrottle()
    {
        var config = ConfigAssert.Valid(Head);
        var pool = Assert.Single(config.Pools);
        Assert.Equal(0, pool.ClientIdleTimeoutMs);
        Assert.Equal(0, pool.AuthTimeoutMs);
        Assert.Equal(0, pool.MaxConnectionsPerIp);
        Assert.Null(pool.MaxRequestSize);
        Assert.Equal(new AuthThrottleConfig { DelayMs = 100, MaxDelayMs = 5000 }, config.Settings.AuthThrottle);
    }

    [Theory]
    [InlineData("300", 300_000)]
    [InlineData("0", 0)]
    [InlineData("500ms", 500)]
    [InlineData("10s", 10_000)]
    [InlineData("5m", 300_000)]
    [InlineData("2h", 7_200_000)]
    public void Durations_AreSecondsUnlessAUnitSaysOtherwise(string written, long ms)
    {
        var pool = ConfigAssert.SinglePool(Head + $"  client_idle_timeout: {written}\n  auth_timeout: {written}\n");
        Assert.Equal(ms, pool.ClientIdleTimeoutMs);
        Assert.Equal(ms, pool.AuthTimeoutMs);
    }

    [Fact]
    public void PerIpAndRequestSize_AreRead()
    {
        var pool = ConfigAssert.SinglePool(Head + "  max_connections_per_ip: 50\n  max_request_size: 8mb\n");
        Assert.Equal(50, pool.MaxConnectionsPerIp);
        Assert.Equal(8L * 1024 * 1024, pool.MaxRequestSize);
        Assert.Equal(512L * 1024 * 1024, ConfigAssert.SinglePool(Head + "  max_request_size: 512mb\n").MaxRequestSize);
    }

    [Fact]
    public void AuthThrottle_IsRead_AndZeroDelayTurnsItOff()
    {
        var throttle = ConfigAssert.Valid("rampart:\n  auth_throttle: {delay: 250ms, max_delay: 30s}\n" + Head).Settings.AuthThrottle;
        Assert.Equal(250, throttle.DelayMs);
        Assert.Equal(30_000, throttle.MaxDelayMs);
        Assert.False(ConfigAssert.Valid("rampart:\n  auth_throttle: {delay: 0}\n" + Head).Settings.AuthThrottle.Enabled);
    }

    [Theory]
    [InlineData("  client_idle_timeout: -1\n", 6, "pool 'cache': client_idle_timeout must be a duration: whole seconds (as Redis's timeout) or digits with ms, s, m or h, such as 300 or 500ms, at most 24h (0 = never), got '-1'")]
    [InlineData("  auth_timeout: 10 s\n", 6, "pool 'cache': auth_timeout must be a duration")]
    [InlineData("  auth_timeout: 25h\n", 6, "at most 24h")]
    [InlineData("  auth_timeout: 1.5\n", 6, "got '1.5'")]
    [InlineData("  max_connections_per_ip: -2\n", 6, "pool 'cache': max_connections_per_ip must be a whole number >= 0 (client connections from one address; 0 = unlimited), got '-2'")]
    [InlineData("  max_request_size: 1gb\n", 6, "pool 'cache': max_request_size must be at most 512mb (Redis's proto-max-bulk-len), got '1gb'")]
    [InlineData("  max_request_size: 0\n", 6, "pool 'cache': max_request_size must be a positive size in bytes")]
    [InlineData("  client_idle_timout: 5\n", 6, "unknown key 'client_idle_timout' in pool 'cache' (did you mean 'client_idle_timeout'?)")]
    public void PoolKeyErrors(string key, int line, string message) => ConfigAssert.OneError(Head + key, line, message);

    [Theory]
    [InlineData("rampart:\n  auth_throttle: 100\n", 2, "rampart auth_throttle must be a mapping (delay, max_delay)")]
    [InlineData("rampart:\n  auth_throttle:\n    delay: 2s\n    max_delay: 1s\n", 3, "rampart auth_throttle: max_delay (1000ms) is less than delay (2000ms)")]
    [InlineData("rampart:\n  auth_throttle:\n    delay: fast\n", 3, "rampart auth_throttle: delay must be a duration")]
    [InlineData("rampart:\n  auth_throttle:\n    dealy: 1s\n", 3, "unknown key 'dealy' in rampart auth_throttle")]
    public void AuthThrottleErrors(string block, int line, string message) => ConfigAssert.OneError(block + Head, line, message);

    [Fact]
    public void Diff_NamesEachLimit()
    {
        var before = ConfigAssert.Valid(Head + "  client_idle_timeout: 300\n");
        var after = ConfigAssert.Valid("rampart:\n  auth_throttle: {delay: 0}\n" + Head
            + "  client_idle_timeout: 1500ms\n  auth_timeout: 10\n  max_connections_per_ip: 20\n  max_request_size: 1mb\n");
        var diff = ConfigDiff.Compute(before, after);
        Assert.Equal(
            ["client_idle_timeout 300s -> 1500ms", "auth_timeout off -> 10s", "max_connections_per_ip 0 -> 20", "max_request_size none -> 1048576"],
            Assert.Single(diff.Changed).Changes);
        Assert.Equal(["auth_throttle {delay: 100ms, max_delay: 5000ms} -> off"], diff.SettingsChanges);
    }
}
