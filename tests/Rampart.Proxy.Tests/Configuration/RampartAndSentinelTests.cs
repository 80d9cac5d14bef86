using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>Rampart's additions: the reserved <c>rampart:</c> key and a pool's <c>sentinel:</c> block.</summary>
public class RampartAndSentinelTests
{
    private const string Pool = "cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n";

    [Fact]
    public void RampartBlockIsSettingsNotAPool()
    {
        var config = ConfigAssert.Valid("rampart:\n  admin:\n    listen: 127.0.0.1:8080\n    user: ops\n    password: pw\n" + Pool);
        Assert.Equal("cache", Assert.Single(config.Pools).Name);
        Assert.Equal(new RampartSettings { AdminListen = "127.0.0.1:8080", AdminUser = "ops", AdminPassword = "pw" }, config.Settings);
    }

    [Fact]
    public void RampartBlockInFlowStyle()
    {
        var config = ConfigAssert.Valid("rampart:\n  admin: {listen: \"[::1]:8080\"}\n" + Pool);
        Assert.Equal("[::1]:8080", config.Settings.AdminListen);
        Assert.Null(config.Settings.AdminUser);
    }

    [Theory]
    [InlineData("rampart:\n  logging: debug\n", 2, "unknown key 'logging' in rampart")]
    [InlineData("rampart:\n  admn:\n    listen: 127.0.0.1:8080\n", 2, "unknown key 'admn' in rampart (did you mean 'admin'?)")]
    [InlineData("rampart:\n  admin:\n    listen: 127.0.0.1:8080\n    pasword: x\n", 4, "unknown key 'pasword' in rampart admin (did you mean 'password'?)")]
    [InlineData("rampart:\n  admin:\n    listen: 127.0.0.1:8080\n    user: ops\n", 4, "rampart admin: user and password must be given together")]
    [InlineData("rampart:\n  admin:\n    user: ops\n    password: pw\n", 3, "rampart admin: listen is missing (host:port of the admin HTTP server)")]
    [InlineData("rampart:\n  admin:\n    listen: 8080\n", 3, "rampart admin: listen '8080' is not \"host:port\" (expected host:port)")]
    [InlineData("rampart:\n  admin:\n    listen: 127.0.0.1:22121\n", 3, "rampart admin listen address '127.0.0.1:22121' is also the listen address of pool 'cache'")]
    [InlineData("rampart: 1\n", 1, "rampart must be a mapping of process settings (admin: ...)")]
    public void RampartBlockErrors(string block, int line, string message)
    {
        var error = ConfigAssert.OneError(block + Pool, line, message);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void OnlyARampartBlockIsNotAConfiguration() =>
        ConfigAssert.OneError("rampart:\n  admin:\n    listen: 127.0.0.1:8080\n", 1, "the configuration has no pools");

    [Fact]
    public void SentinelPoolServersAreMasterNames()
    {
        var pool = ConfigAssert.SinglePool("""
            ha:
              listen: 127.0.0.1:16379
              redis: true
              sentinel:
                addresses: [127.0.0.1:26379, 127.0.0.1:26380, "[::1]:26381"]
                quorum: 2
                password: sentinel-pw
                check_interval: 250
              servers:
                - mymaster
                - other-master
            """);
        var sentinel = pool.Sentinel!;
        Assert.Equal(4, sentinel.Line);
        Assert.Equal(["127.0.0.1:26379", "127.0.0.1:26380", "[::1]:26381"], sentinel.Addresses.Select(a => a.ToString()));
        Assert.Equal(2, sentinel.Quorum);
        Assert.Equal("sentinel-pw", sentinel.Password);
        Assert.Equal(250, sentinel.CheckIntervalMs);
        Assert.Equal(["mymaster", "other-master"], pool.Servers.Select(s => s.Name));
        Assert.All(pool.Servers, s => Assert.Equal((s.Name, 0, 1), (s.Host, s.Port, s.Weight)));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 2)]
    [InlineData(4, 3)]
    [InlineData(5, 3)]
    public void SentinelDefaultsAreMajorityQuorumAndOneSecond(int sentinels, int quorum)
    {
        var addresses = string.Concat(Enumerable.Range(0, sentinels).Select(i => $"      - 127.0.0.1:{26379 + i}\n"));
        var pool = ConfigAssert.SinglePool($"ha:\n  listen: 127.0.0.1:16379\n  redis: true\n  servers:\n    - mymaster\n  sentinel:\n    addresses:\n{addresses}");
        Assert.Equal(quorum, pool.Sentinel!.Quorum);
        Assert.Equal(1000, pool.Sentinel.CheckIntervalMs);
        Assert.Null(pool.Sentinel.Password);
    }

    [Theory]
    [InlineData("    addresses: [127.0.0.1:26379]\n    quorum: 2\n", 6, "pool 'ha' sentinel: quorum 2 is more than the 1 sentinel(s) listed")]
    [InlineData("    addresses: [127.0.0.1:26379]\n    quorum: 0\n", 6, "pool 'ha' sentinel: quorum must be a whole number >= 1 (sentinels that must agree), got '0'")]
    [InlineData("    addresses: [127.0.0.1:26379]\n    check_interval: 0\n", 6, "pool 'ha' sentinel: check_interval must be a whole number >= 1 (milliseconds), got '0'")]
    [InlineData("    addresses: [127.0.0.1:26379]\n    quorom: 1\n", 6, "unknown key 'quorom' in pool 'ha' sentinel (did you mean 'quorum'?)")]
    [InlineData("    addresses: []\n", 5, "pool 'ha' sentinel: addresses must be a non-empty list of host:port")]
    [InlineData("    addresses: [127.0.0.1]\n", 5, "pool 'ha' sentinel: address '127.0.0.1' is not \"host:port\"")]
    [InlineData("    addresses:\n      - 127.0.0.1:26379\n      - 127.0.0.1:26379\n", 7, "pool 'ha' sentinel: address 127.0.0.1:26379 is listed twice (first at line 6)")]
    [InlineData("    quorum: 1\n", 4, "pool 'ha' sentinel: addresses is missing (a list of sentinel host:port)")]
    public void SentinelBlockErrors(string body, int line, string message)
    {
        var yaml = $"ha:\n  listen: 127.0.0.1:16379\n  redis: true\n  sentinel:\n{body}  servers:\n    - mymaster\n";
        var error = ConfigAssert.OneError(yaml, line, message);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void SentinelServerMustBeAMasterNameNotAnAddress() =>
        ConfigAssert.OneError("ha:\n  listen: 127.0.0.1:16379\n  servers:\n    - 127.0.0.1:6379:1\n  sentinel:\n    addresses: [127.0.0.1:26379]\n  redis: true\n",
            4, "pool 'ha': with sentinel, each server is a Sentinel master name (such as 'mymaster'), got '127.0.0.1:6379:1'");

    [Fact]
    public void SentinelDuplicateMasterName() =>
        ConfigAssert.OneError("ha:\n  listen: 127.0.0.1:16379\n  sentinel:\n    addresses: [127.0.0.1:26379]\n  servers:\n    - m\n    - m\n  redis: true\n",
            7, "pool 'ha': servers have the same name 'm' (first at line 6)");

    [Fact]
    public void WithoutSentinelAPlainNameIsNotAServer() =>
        ConfigAssert.OneError("p:\n  listen: 127.0.0.1:16379\n  servers:\n    - mymaster\n  redis: true\n", 4, "'mymaster' is not a server line");
}
