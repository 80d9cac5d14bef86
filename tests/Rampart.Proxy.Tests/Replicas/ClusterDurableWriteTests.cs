using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;

namespace Rampart.Proxy.Tests.Replicas;

/// <summary>
/// <c>min_replicas_ack</c> on a Redis Cluster pool (3 masters, a replica each, made by redis-cli --cluster create): each
/// master's connection ends its batches of writes with WAIT, so with one master's replica stopped (SIGSTOP) writes to
/// that master's slots get NOREPLICAS (single commands, transactions, scripts and functions, a multi-key write or a
/// write sent to every master with a part there)
/// while writes to the other masters are acknowledged as usual.
/// </summary>
public sealed class ClusterDurableWriteTests
{
    private const string Short = "-NOREPLICAS rampart: write reached 0 of 1 replicas"; // within ack_timeout, or known short

    [Fact]
    public async Task WithOneMastersReplicaStopped_OnlyWritesToThatMastersSlotsGetNoReplicas()
    {
        using var cluster = RedisClusterProcess.StartWithReplicas(masters: 3, replicasPerMaster: 1);
        await using var rampart = await RampartUnderTest.StartAsync(ClusterPoolConfig.For(cluster) with { MinReplicasAck = 1, AckTimeoutMs = 300 });
        Assert.True(ClusterPoolConfig.WaitForSlotMap(rampart));

        var stopped = cluster.Masters[0];
        var replica = cluster.ReplicasOf(stopped)[0];
        int[] owners = RedisClusterProcess.SlotOwners(stopped);
        int onStopped = Array.IndexOf(owners, stopped.Port);
        int elsewhere = Array.FindIndex(owners, port => port != stopped.Port && port != 0);
        string key = ClusterSlots.KeyInSlot(onStopped, "k");
        string other = ClusterSlots.KeyInSlot(elsewhere, "k");

        using var client = RespTestClient.ConnectTcp(rampart.Port);
        using var onReplica = RespTestClient.ConnectTcp(replica.Port);
        Assert.Equal("OK", onReplica.Ask("READONLY"));
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal("OK", client.Ask("SET", key, $"v{i}"));
            Assert.Equal($"v{i}", onReplica.Ask("GET", key)); // acknowledged: already on the slot's replica
        }
        Assert.Equal("OK", client.Ask("MSET", key, "a", other, "b"));
        Assert.True(rampart.Server.GetPool("cluster").Routing.Servers.Sum(s => s.Stats.AckedWrites) >= 21);

        cluster.Freeze(replica);
        try
        {
            Assert.StartsWith(Short, client.Ask("SET", key, "unconfirmed"));
            Assert.Equal("OK", client.Ask("SET", other, "confirmed")); // another master, its replica running
            // A write split over masters is acknowledged only if every part was.
            Assert.StartsWith(Short, client.Ask("MSET", key, "x", other, "y"));
            Assert.StartsWith(Short, client.Ask("EVAL", "redis.call('set', KEYS[1], ARGV[1]) return 1", "1", key, "script"));
            // A keyless write sent to every master (FUNCTION LOAD) is acknowledged only if every master's replicas have it.
            Assert.StartsWith(Short, client.Ask("FUNCTION", "LOAD", "#!lua name=durable\nredis.register_function('setk', function(keys, args) return redis.call('set', keys[1], args[1]) end)"));
            Assert.StartsWith(Short, client.Ask("FCALL", "setk", "1", key, "function"));
            Assert.Equal("OK", client.Ask("FCALL", "setk", "1", other, "function"));

            client.Send([.. RespTestClient.Command("MULTI"), .. RespTestClient.Command("SET", key, "tx"), .. RespTestClient.Command("EXEC")]);
            Assert.Equal("OK", Replies.Text(client.ReadReply()));
            Assert.Equal("QUEUED", Replies.Text(client.ReadReply()));
            Assert.StartsWith(Short, Replies.Text(client.ReadReply()));

            Assert.Equal("OK", client.Ask("WATCH", key));
            Assert.Equal("OK", client.Ask("MULTI"));
            Assert.Equal("QUEUED", client.Ask("SET", key, "pinned"));
            Assert.StartsWith(Short, client.Ask("EXEC"));
            Assert.Equal("pinned", client.Ask("GET", key)); // it ran on the master; a read is not held

            Assert.Equal("OK", client.Ask("WATCH", other));
            Assert.Equal("OK", client.Ask("MULTI"));
            Assert.Equal("QUEUED", client.Ask("SET", other, "pinned"));
            Assert.Equal(["OK"], Replies.Array(client.Call("EXEC")));
        }
        finally
        {
            cluster.Thaw(replica);
        }
    }
}
