using Rampart.Proxy.Configuration;
using Rampart.Proxy.Reload;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>Rampart's <c>cluster:</c> block of a pool: seeds, ACL user and password, refresh interval, and what it excludes.</summary>
public class ClusterBlockTests
{
    /// <summary>A pool whose line 4 is <c>cluster:</c>; <paramref name="block"/> is its body, <paramref name="more"/> keys after it.</summary>
    private static string Shop(string block, string more = "") =>
        $"shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  cluster:\n{block}{more}";

    private const string Seeds = "    nodes: [10.0.0.1:7000, 10.0.0.2:7000]\n";

    [Fact]
    public void ClusterBlockIsReadWithEveryKey()
    {
        var pool = ConfigAssert.SinglePool(Shop("    nodes: [10.0.0.1:7000, 10.0.0.2:7000]\n    user: app\n    password: secret\n    refresh_interval: 250\n"));
        var cluster = pool.Cluster!;
        Assert.Equal(4, cluster.Line);
        Assert.Equal(["10.0.0.1:7000", "10.0.0.2:7000"], cluster.Nodes.Select(n => n.ToString()));
        Assert.All(cluster.Nodes, n => Assert.Equal(5, n.Line));
        Assert.Equal(("app", "secret", 250), (cluster.User, cluster.Password, cluster.RefreshIntervalMs));
        Assert.Null(pool.Sentinel);
    }

    [Fact]
    public void SeedsAreThePoolsServers()
    {
        var pool = ConfigAssert.SinglePool(Shop("    nodes:\n      - 10.0.0.1:7000\n      - redis-b.internal:7001\n"));
        Assert.Equal([("10.0.0.1", 7000, 1, (string?)null, 6), ("redis-b.internal", 7001, 1, null, 7)],
            pool.Servers.Select(s => (s.Host, s.Port, s.Weight, s.Name, s.Line)));
    }

    [Fact]
    public void DefaultsAreNoUserNoPasswordAndOneSecond()
    {
        var cluster = ConfigAssert.SinglePool(Shop(Seeds)).Cluster!;
        Assert.Null(cluster.User);
        Assert.Null(cluster.Password);
        Assert.Equal(1000, cluster.RefreshIntervalMs);
    }

    [Fact]
    public void PasswordAloneIsTheDefaultUsers()
    {
        var cluster = ConfigAssert.SinglePool(Shop(Seeds + "    password: secret\n")).Cluster!;
        Assert.Null(cluster.User);
        Assert.Equal("secret", cluster.Password);
    }

    [Fact]
    public void IPv6SeedsInBrackets()
    {
        var pool = ConfigAssert.SinglePool(Shop("    nodes: [\"[::1]:7000\", \"[fe80::1]:7001\", 127.0.0.1:7002]\n"));
        Assert.Equal(["[::1]:7000", "[fe80::1]:7001", "127.0.0.1:7002"], pool.Cluster!.Nodes.Select(n => n.ToString()));
        Assert.Equal([("::1", 7000), ("fe80::1", 7001), ("127.0.0.1", 7002)], pool.Servers.Select(s => (s.Host, s.Port)));
        Assert.Equal("[::1]:7000", pool.Servers[0].Endpoint);
    }

    [Fact]
    public void RefreshIntervalOfTheMinimumIsAccepted() =>
        Assert.Equal(100, ConfigAssert.SinglePool(Shop(Seeds + "    refresh_interval: 100\n")).Cluster!.RefreshIntervalMs);

    [Fact]
    public void RedisDbZeroIsAccepted() =>
        Assert.Equal(0, ConfigAssert.SinglePool(Shop(Seeds, "  redis_db: 0\n")).RedisDb);

    [Fact]
    public void PoolKeysThatDoNotPlaceKeysStay()
    {
        var pool = ConfigAssert.SinglePool(Shop(Seeds, "  timeout: 400\n  server_connections: 2\n  allow_flush: true\n"));
        Assert.Equal((400, 2, true), (pool.TimeoutMs, pool.ServerConnections, pool.AllowFlush));
    }

    [Theory]
    [InlineData("    nodes: []\n", 5, "pool 'shop' cluster: nodes must be a non-empty list of host:port")]
    [InlineData("    nodes: 10.0.0.1:7000\n", 5, "pool 'shop' cluster: nodes must be a non-empty list of host:port")]
    [InlineData("    nodes: [10.0.0.1]\n", 5, "pool 'shop' cluster: node '10.0.0.1' is not \"host:port\"")]
    [InlineData("    nodes: [10.0.0.1:0]\n", 5, "pool 'shop' cluster: node '10.0.0.1:0' has an invalid port (expected 1-65535)")]
    [InlineData("    nodes:\n      - [a, b]\n", 6, "pool 'shop' cluster: each node must be host:port")]
    [InlineData("    nodes:\n      - 10.0.0.1:7000\n      - 10.0.0.1:7000\n", 7, "pool 'shop' cluster: node 10.0.0.1:7000 is listed twice (first at line 6)")]
    [InlineData("    nodes:\n      - \"[::1]:7000\"\n      - \"[::1]:7000\"\n", 7, "pool 'shop' cluster: node [::1]:7000 is listed twice (first at line 6)")]
    [InlineData("    user: app\n    password: pw\n", 4, "pool 'shop' cluster: nodes is missing (a list of seed host:port; the rest of the cluster is learned from them)")]
    [InlineData(Seeds + "    user: app\n", 6, "pool 'shop' cluster: user 'app' has no password (a Redis ACL user authenticates with a user and a password; add password: or password_file:)")]
    [InlineData(Seeds + "    refresh_interval: 99\n", 6, "pool 'shop' cluster: refresh_interval must be a whole number >= 100 (milliseconds between slot-map checks), got '99'")]
    [InlineData(Seeds + "    refresh_interval: 1.5\n", 6, "pool 'shop' cluster: refresh_interval must be a whole number >= 100 (milliseconds between slot-map checks), got '1.5'")]
    [InlineData(Seeds + "    password: [a]\n", 6, "pool 'shop' cluster: password must be a single value, not a list or mapping")]
    [InlineData(Seeds + "    refresh: 1000\n", 6, "unknown key 'refresh' in pool 'shop' cluster")]
    [InlineData(Seeds + "    pasword: x\n", 6, "unknown key 'pasword' in pool 'shop' cluster (did you mean 'password'?)")]
    [InlineData("    - 10.0.0.1:7000\n", 5, "pool 'shop' cluster must be a mapping (nodes, user, password, refresh_interval)")]
    // What a cluster pool refuses beside its block: the cluster decides placement, database and authentication.
    [InlineData(Seeds + "  servers:\n    - 127.0.0.1:6379:1\n", 6, "pool 'shop': servers (line 6) and cluster (line 4) cannot be used together: the cluster's nodes are learned from its seeds (cluster: nodes:)")]
    [InlineData(Seeds + "  sentinel:\n    addresses: [127.0.0.1:26379]\n", 6, "pool 'shop': sentinel (line 6) and cluster (line 4) cannot be used together: a Redis Cluster fails over by itself, with no sentinels")]
    [InlineData(Seeds + "  hash: murmur\n", 6, "pool 'shop': hash cannot be set in a cluster pool (cluster at line 4): the cluster decides placement: each key goes to the node serving its CRC16 slot")]
    [InlineData(Seeds + "  distribution: modula\n", 6, "pool 'shop': distribution cannot be set in a cluster pool (cluster at line 4): the cluster decides placement: each key goes to the node serving its CRC16 slot")]
    [InlineData(Seeds + "  hash_tag: \"{}\"\n", 6, "pool 'shop': hash_tag cannot be set in a cluster pool (cluster at line 4): the cluster always uses {...} hash tags")]
    [InlineData(Seeds + "  auto_eject_hosts: false\n", 6, "pool 'shop': auto_eject_hosts cannot be set in a cluster pool (cluster at line 4): the cluster decides placement: each key goes to the node serving its CRC16 slot; a failed master's slots move to its replica and Rampart follows the slot map")]
    [InlineData(Seeds + "  redis_auth: pw\n", 6, "pool 'shop': redis_auth cannot be set in a cluster pool (cluster at line 4): use the cluster block's password (and user) to authenticate with the nodes")]
    [InlineData(Seeds + "  redis_db: 2\n", 6, "pool 'shop': redis_db 2 cannot be set in a cluster pool (cluster at line 4): a Redis Cluster has only database 0")]
    public void ClusterPoolErrors(string body, int line, string message)
    {
        var error = ConfigAssert.OneError(Shop(body), line, message);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void ServersBeforeTheClusterBlockAreRefusedAtTheirLine() =>
        ConfigAssert.OneError("shop:\n  listen: 127.0.0.1:6380\n  servers:\n    - 127.0.0.1:6379:1\n  redis: true\n  cluster:\n" + Seeds,
            3, "pool 'shop': servers (line 3) and cluster (line 6) cannot be used together");

    [Fact]
    public void EveryRefusedKeyIsReportedInOnePass()
    {
        var errors = ConfigAssert.Invalid(Shop(Seeds, "  hash: murmur\n  distribution: modula\n  redis_db: 1\n"));
        Assert.Equal([6, 7, 8], errors.Select(e => e.Line));
    }

    [Fact]
    public void ABrokenBlockStillRefusesServers()
    {
        var errors = ConfigAssert.Invalid(Shop("    nodes: []\n", "  servers:\n    - 127.0.0.1:6379:1\n"));
        Assert.Equal([5, 6], errors.Select(e => e.Line));
    }

    [Fact]
    public void AClusterPoolNeedsNoServersKey() =>
        Assert.Empty(ConfigLoader.LoadText(Shop(Seeds), ConfigAssert.Source).Errors);

    [Fact]
    public void Diff_NamesEachChangedClusterKey_NeverThePassword()
    {
        var before = ConfigAssert.Valid(Shop(Seeds + "    user: app\n    password: old-secret\n"));
        var after = ConfigAssert.Valid(Shop("    nodes: [10.0.0.1:7000, \"[::1]:7002\"]\n    user: ops\n    password: new-secret\n    refresh_interval: 500\n"));
        var diff = ConfigDiff.Compute(before, after);
        Assert.Equal(
            ["cluster nodes [10.0.0.1:7000, 10.0.0.2:7000] -> [10.0.0.1:7000, [::1]:7002]", "cluster user app -> ops",
             "cluster password changed", "cluster refresh_interval 1000 -> 500"],
            Assert.Single(diff.Changed).Changes);
        Assert.DoesNotContain("secret", diff.Describe(), StringComparison.Ordinal);
        Assert.True(ConfigDiff.Compute(before, ConfigAssert.Valid("\n" + Shop(Seeds + "    user: app\n    password: old-secret\n"))).IsEmpty);
    }

    [Fact]
    public void Diff_ServersToCluster_SaysSo()
    {
        var plain = ConfigAssert.Valid("shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  servers:\n    - 127.0.0.1:6379:1\n");
        var cluster = ConfigAssert.Valid(Shop(Seeds));
        Assert.Equal(["servers [127.0.0.1:6379] -> cluster nodes [10.0.0.1:7000, 10.0.0.2:7000]"], Assert.Single(ConfigDiff.Compute(plain, cluster).Changed).Changes);
        Assert.Equal(["cluster nodes [10.0.0.1:7000, 10.0.0.2:7000] -> servers [127.0.0.1:6379]"], Assert.Single(ConfigDiff.Compute(cluster, plain).Changed).Changes);
    }
}
