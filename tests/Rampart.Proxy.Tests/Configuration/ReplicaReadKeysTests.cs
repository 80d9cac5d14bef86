using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary><c>read_from</c>, <c>max_replica_lag</c>, <c>read_your_writes</c> and <c>replicas</c>: read, defaulted, and refused where they cannot be honoured.</summary>
public class ReplicaReadKeysTests
{
    private static string Pool(string more, string servers = "  servers:\n    - 10.0.0.1:6379:1\n") =>
        $"app:\n  listen: 127.0.0.1:6380\n  redis: true\n{servers}{more}";

    private const string Sentinel = "  sentinel:\n    addresses: [10.0.0.9:26379]\n    quorum: 1\n";

    [Fact]
    public void DefaultsReadFromTheMaster()
    {
        var pool = ConfigAssert.SinglePool(Pool(""));
        Assert.Equal(ReadFrom.Master, pool.ReadFrom);
        Assert.False(pool.ReadsFromReplicas);
        Assert.Equal(1000, pool.MaxReplicaLagMs);
        Assert.Empty(pool.Replicas);
    }

    [Theory]
    [InlineData("prefer-replica", ReadFrom.PreferReplica, true)]
    [InlineData("replica", ReadFrom.Replica, true)]
    [InlineData("nearest", ReadFrom.Nearest, false)]
    public void ReplicasListedUnderASingleServerPool(string value, ReadFrom expected, bool readYourWrites)
    {
        var pool = ConfigAssert.SinglePool(Pool($"  read_from: {value}\n  max_replica_lag: 250\n  replicas:\n    - 10.0.0.2:6379\n    - 10.0.0.3:6380\n"));
        Assert.Equal(expected, pool.ReadFrom);
        Assert.Equal(250, pool.MaxReplicaLagMs);
        Assert.Equal(readYourWrites, pool.ReadYourWrites);
        Assert.Equal(["10.0.0.2:6379", "10.0.0.3:6380"], pool.Replicas.Select(r => r.Endpoint));
    }

    [Fact]
    public void ReadYourWritesCanBeTurnedOffOrOn()
    {
        Assert.False(ConfigAssert.SinglePool(Pool("  read_from: replica\n  read_your_writes: false\n  replicas: [10.0.0.2:6379]\n")).ReadYourWrites);
        Assert.True(ConfigAssert.SinglePool(Pool("  read_from: nearest\n  read_your_writes: true\n  replicas: [10.0.0.2:6379]\n")).ReadYourWrites);
    }

    [Fact]
    public void ASentinelPoolLearnsItsReplicas()
    {
        var yaml = Pool("  read_from: replica\n" + Sentinel, servers: "  servers:\n    - mymaster\n");
        Assert.Equal(ReadFrom.Replica, ConfigAssert.SinglePool(yaml).ReadFrom);
    }

    [Fact]
    public void AnUnknownValueIsRefused() =>
        ConfigAssert.OneError(Pool("  read_from: replicas\n  replicas: [10.0.0.2:6379]\n"), 6, "read_from");

    [Fact]
    public void ReadingFromReplicasNeedsReplicas() =>
        ConfigAssert.OneError(Pool("  read_from: prefer-replica\n"), 6, "read_from prefer-replica needs replicas");

    [Fact]
    public void ReplicasBelongToOneServer() =>
        ConfigAssert.OneError(Pool("  read_from: replica\n  replicas: [10.0.0.3:6379]\n", servers: "  servers:\n    - 10.0.0.1:6379:1\n    - 10.0.0.2:6379:1\n"),
            8, "replicas can only be listed in a pool of one server (this one has 2)");

    [Fact]
    public void ASentinelPoolDoesNotListReplicas() =>
        ConfigAssert.OneError(Pool("  replicas: [10.0.0.3:6379]\n" + Sentinel, servers: "  servers:\n    - mymaster\n"), 6, "replicas cannot be listed in a sentinel pool");

    [Fact]
    public void AClusterPoolReadsFromTheSlotsReplicas() =>
        Assert.Equal(ReadFrom.PreferReplica, ConfigAssert.SinglePool(
            "shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  read_from: prefer-replica\n  cluster:\n    nodes: [10.0.0.1:7000]\n").ReadFrom);

    [Fact]
    public void ANegativeLagIsRefused() =>
        ConfigAssert.OneError(Pool("  read_from: replica\n  max_replica_lag: -1\n  replicas: [10.0.0.2:6379]\n"), 7, "max_replica_lag");
}

/// <summary><c>min_replicas_ack</c> and <c>ack_timeout</c>.</summary>
public class DurableWriteKeysTests
{
    private const string Pool = "app:\n  listen: 127.0.0.1:6380\n  redis: true\n  servers:\n    - 10.0.0.1:6379:1\n";

    [Fact]
    public void OffByDefault_With100MsWhenOn()
    {
        var off = ConfigAssert.SinglePool(Pool);
        Assert.False(off.WritesDurably);
        var on = ConfigAssert.SinglePool(Pool + "  min_replicas_ack: 1\n");
        Assert.Equal((1, 100, true), (on.MinReplicasAck, on.AckTimeoutMs, on.WritesDurably));
        Assert.Equal(250, ConfigAssert.SinglePool(Pool + "  min_replicas_ack: 2\n  ack_timeout: 250\n").AckTimeoutMs);
    }

    [Fact]
    public void AZeroTimeoutIsRefused() => ConfigAssert.OneError(Pool + "  min_replicas_ack: 1\n  ack_timeout: 0\n", 7, "ack_timeout");

    private const string ClusterPool = "shop:\n  listen: 127.0.0.1:6380\n  redis: true\n  cluster:\n    nodes: [10.0.0.1:7000]\n";

    [Fact]
    public void AClusterPoolWaitsForReplicasPerMaster()
    {
        var pool = ConfigAssert.SinglePool(ClusterPool + "  min_replicas_ack: 1\n  ack_timeout: 50\n");
        Assert.Equal((1, 50, true), (pool.MinReplicasAck, pool.AckTimeoutMs, pool.WritesDurably));
    }

    [Fact]
    public void AClusterPoolRefusesAZeroTimeoutToo() => ConfigAssert.OneError(ClusterPool + "  min_replicas_ack: 1\n  ack_timeout: 0\n", 7, "ack_timeout");
}
