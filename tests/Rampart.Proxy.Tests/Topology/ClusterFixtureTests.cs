using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Topology;

/// <summary>
/// The cluster fixture with replicas does what the cluster tests and bench/cluster-bench rely on: it comes up as
/// 3 masters + 3 replicas covering every slot, quickly; a reshard really moves slots; CLUSTER FAILOVER really swaps
/// roles. Checked against the cluster's own answers (ROLE, CLUSTER SLOTS), not the fixture's bookkeeping.
/// </summary>
public class ClusterFixtureTests
{
    [Fact]
    public void StartWithReplicas_ThreeMastersThreeReplicas_EverySlotServed_InAFewSeconds()
    {
        var clock = Stopwatch.StartNew();
        using var cluster = RedisClusterProcess.StartWithReplicas();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), $"took {clock.Elapsed}");

        Assert.Equal(3, cluster.Masters.Count);
        Assert.Equal(3, cluster.Replicas.Count);
        Assert.Equal(6, cluster.ClusterNodes.Select(n => n.Port).Distinct().Count());
        Assert.All(cluster.ClusterNodes, n => Assert.Equal(40, n.Id.Length));
        // Each master has exactly one replica, and each replica follows a master of this cluster.
        Assert.All(cluster.Masters, m => Assert.Single(cluster.ReplicasOf(m)));
        var owners = RedisClusterProcess.SlotOwners(cluster.ClusterNodes[0]);
        Assert.DoesNotContain(0, owners);
        Assert.Equal(cluster.Masters.Select(m => m.Port).Order(), owners.Distinct().Order());
    }

    [Fact]
    public async Task Reshard_OfAHundredSlots_MovesThemToTheTarget()
    {
        using var cluster = RedisClusterProcess.StartWithReplicas();
        var (from, to) = (cluster.Masters[0], cluster.Masters[1]);
        int Served(int[] owners, ClusterNode m) => owners.Count(p => p == m.Port);
        var before = RedisClusterProcess.SlotOwners(from);

        await cluster.ReshardAsync(from, to, 100);

        // Every node learns the new owners (by gossip); ask one that took no part.
        var bystander = cluster.Masters[2];
        Assert.True(Poll.WaitUntil(() => Served(RedisClusterProcess.SlotOwners(bystander), to) == Served(before, to) + 100,
            TimeSpan.FromSeconds(10)));
        var after = RedisClusterProcess.SlotOwners(bystander);
        Assert.Equal(Served(before, from) - 100, Served(after, from));
        Assert.Equal(100, Enumerable.Range(0, after.Length).Count(s => before[s] == from.Port && after[s] == to.Port));
    }

    [Fact]
    public void ClusterFailover_OnAReplica_SwapsTheRoles()
    {
        using var cluster = RedisClusterProcess.StartWithReplicas();
        var master = cluster.Masters[0];
        var replica = cluster.ReplicasOf(master).Single();

        var switchTime = cluster.Failover(replica);

        Assert.Equal("master", replica.Role);
        Assert.True(RedisClusterProcess.WaitForRole(master, "slave", TimeSpan.FromSeconds(10)));
        Assert.Equal(replica.Port, master.MasterPort);
        Assert.True(switchTime < TimeSpan.FromSeconds(5), $"switch took {switchTime}");
    }
}
