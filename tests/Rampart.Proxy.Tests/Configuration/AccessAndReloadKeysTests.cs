using System.Net;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Reload;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>The keys of the operations work: a pool's <c>allow</c>, and <c>rampart: {max_connections, watch_config}</c>.</summary>
public class AccessAndReloadKeysTests
{
    private const string Head = "cache:\n  listen: 127.0.0.1:22121\n  redis: true\n  servers:\n   - 127.0.0.1:6379:1\n";

    [Fact]
    public void AllowListOfBlocksAndAddresses()
    {
        var pool = ConfigAssert.SinglePool(Head + "  allow:\n    - 10.0.0.0/8\n    - 192.168.1.7\n    - \"::1\"\n    - \"2001:db8::/32\"\n    - \"::ffff:10.1.0.0/112\"\n");
        Assert.Equal(["10.0.0.0/8", "192.168.1.7/32", "::1/128", "2001:db8::/32", "10.1.0.0/16"], pool.Allow!.Select(n => n.ToString()));
    }

    [Fact]
    public void NoAllowKeyMeansEveryone() => Assert.Null(ConfigAssert.SinglePool(Head).Allow);

    [Theory]
    [InlineData("  allow: []\n", 6, "pool 'cache': allow must be a non-empty list of CIDR blocks or addresses")]
    [InlineData("  allow: 10.0.0.0/8\n", 6, "pool 'cache': allow must be a non-empty list")]
    [InlineData("  allow:\n    - 10.0.0.0/8\n    - 10.0.0.300/32\n", 8, "pool 'cache': allow '10.0.0.300/32' is not an IPv4 or IPv6 address or CIDR block")]
    [InlineData("  allow: [10.0.0.0/33]\n", 6, "pool 'cache': allow '10.0.0.0/33' has an invalid prefix length (expected /0 to /32)")]
    [InlineData("  allow: [\"::1/129\"]\n", 6, "allow '::1/129' has an invalid prefix length (expected /0 to /128)")]
    [InlineData("  allow: [10.0.0.0/-8]\n", 6, "has an invalid prefix length")]
    [InlineData("  allow: [10.0.0.1/8]\n", 6, "allow '10.0.0.1/8' has bits set after the /8 prefix: write 10.0.0.0/8 for the block, or 10.0.0.1/32 for one address")]
    [InlineData("  allow: [localhost]\n", 6, "allow 'localhost' is not an IPv4 or IPv6 address")]
    [InlineData("  alow: [10.0.0.0/8]\n", 6, "unknown key 'alow' in pool 'cache' (did you mean 'allow'?)")]
    public void AllowErrors(string allow, int line, string message) => ConfigAssert.OneError(Head + allow, line, message);

    [Fact]
    public void MaxConnectionsAndWatchConfig()
    {
        var config = ConfigAssert.Valid("rampart:\n  max_connections: 10000\n  watch_config: true\n" + Head);
        Assert.Equal(10000, config.Settings.MaxConnections);
        Assert.True(config.Settings.WatchConfig);
        Assert.Equal(new RampartSettings(), ConfigAssert.Valid(Head).Settings);
    }

    [Fact]
    public void EventLoops_DefaultsToNone_MeaningOne()
    {
        Assert.Equal(4, ConfigAssert.Valid("rampart:\n  event_loops: 4\n" + Head).Settings.EventLoops);
        Assert.Null(ConfigAssert.Valid(Head).Settings.EventLoops);
    }

    [Theory]
    [InlineData("rampart:\n  max_connections: -1\n", 2, "rampart: max_connections must be a whole number >= 0 (client connections over all pools, 0 = unlimited), got '-1'")]
    [InlineData("rampart:\n  watch_config: yes\n", 2, "rampart: watch_config must be true or false, got 'yes'")]
    [InlineData("rampart:\n  event_loops: 0\n", 2, "rampart: event_loops must be a whole number from 1 to 64 (event loop threads), got '0'")]
    [InlineData("rampart:\n  event_loops: 65\n", 2, "rampart: event_loops must be a whole number from 1 to 64 (event loop threads), got '65'")]
    [InlineData("rampart:\n  event_loops: two\n", 2, "rampart: event_loops must be a whole number from 1 to 64 (event loop threads), got 'two'")]
    [InlineData("rampart:\n  max_conections: 5\n", 2, "unknown key 'max_conections' in rampart (did you mean 'max_connections'?)")]
    public void RampartKeyErrors(string block, int line, string message) => ConfigAssert.OneError(block + Head, line, message);

    [Fact]
    public void Diff_IgnoresLineNumbers_AndNamesEachChangedKey()
    {
        var before = ConfigAssert.Valid(Head + "  timeout: 400\n  redis_auth: old-secret\n");
        Assert.True(ConfigDiff.Compute(before, ConfigAssert.Valid("\n\n" + Head + "  timeout: 400\n  redis_auth: old-secret\n")).IsEmpty);

        var after = ConfigAssert.Valid(
            "rampart:\n  max_connections: 5\n" +
            "cache:\n  listen: 127.0.0.1:22122\n  redis: true\n  timeout: 500\n  redis_auth: new-secret\n  hash: murmur\n  allow: [10.0.0.0/8]\n" +
            "  servers:\n   - 127.0.0.1:6379:2\n   - 127.0.0.1:6380:1 two\n" +
            "other:\n  listen: 127.0.0.1:22123\n  redis: true\n  servers:\n   - 127.0.0.1:6381:1\n");
        var diff = ConfigDiff.Compute(before, after);

        Assert.Equal(["other"], diff.Added.Select(p => p.Name));
        Assert.Empty(diff.Removed);
        var change = Assert.Single(diff.Changed);
        Assert.Equal(
            ["listen 127.0.0.1:22121 -> 127.0.0.1:22122", "timeout 400 -> 500", "hash fnv1a_64 -> murmur", "redis_auth changed",
             "allow (everyone) -> [10.0.0.0/8]", "weight 127.0.0.1:6379 1 -> 2", "server +two (127.0.0.1:6380)"],
            change.Changes);
        Assert.True(change.ListenChanged);
        Assert.Equal(["max_connections 0 -> 5"], diff.SettingsChanges);
        Assert.DoesNotContain("secret", diff.Describe(), StringComparison.Ordinal);
        Assert.True(ConfigDiff.Compute(after, before).Removed.Single().Name == "other");
    }

    [Fact]
    public void Diff_EventLoopsChange_IsNamedAsNeedingARestart()
    {
        var before = ConfigAssert.Valid(Head);
        var after = ConfigAssert.Valid("rampart:\n  event_loops: 3\n" + Head);
        Assert.Equal(["event_loops default -> 3 (applies at the next restart)"], ConfigDiff.Compute(before, after).SettingsChanges);
    }

    [Fact]
    public void Diff_ServerOrderMattersForModula()
    {
        var a = ConfigAssert.Valid("p:\n  listen: 127.0.0.1:1\n  redis: true\n  distribution: modula\n  servers:\n   - 127.0.0.1:6379:1\n   - 127.0.0.1:6380:1\n");
        var b = ConfigAssert.Valid("p:\n  listen: 127.0.0.1:1\n  redis: true\n  distribution: modula\n  servers:\n   - 127.0.0.1:6380:1\n   - 127.0.0.1:6379:1\n");
        Assert.Equal(["server order"], Assert.Single(ConfigDiff.Compute(a, b).Changed).Changes);
    }

    [Fact]
    public void Ipv4MappedBlockMatchesPlainIpv4Block() =>
        Assert.Equal(IPNetwork.Parse("10.1.0.0/16"), Assert.Single(ConfigAssert.SinglePool(Head + "  allow: [\"::ffff:10.1.0.0/112\"]\n").Allow!));
}
