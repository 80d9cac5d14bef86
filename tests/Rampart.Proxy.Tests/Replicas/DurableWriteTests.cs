using System.Net.Sockets;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;

namespace Rampart.Proxy.Tests.Replicas;

/// <summary>
/// <c>min_replicas_ack</c> against a real master and replica: a write is acknowledged only once the replica has it
/// (read straight from the replica right after the reply), with one WAIT per batch, not per command; with the replica
/// stopped, writes get NOREPLICAS saying they may or may not persist, while other clients' reads go on meanwhile.
/// </summary>
public sealed class DurableWriteTests
{
    [Fact]
    public async Task AnAcknowledgedWrite_IsAlreadyOnTheReplica_WithOneWaitPerBatch()
    {
        using var redis = ReplicatedRedis.Start(replicas: 1);
        await using var rampart = await RampartUnderTest.StartAsync(redis.Pool(ReadFrom.Master) with { MinReplicasAck = 1, AckTimeoutMs = 5000 });
        ReplicatedRedis.ResetStats(redis.Master);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        using var replica = RespTestClient.ConnectTcp(redis.Replicas[0].Port);
        for (int i = 0; i < 300; i++)
        {
            string value = $"{i}:{Guid.NewGuid():N}";
            Assert.Equal("OK", client.Ask("SET", "durable:k", value));
            Assert.Equal(value, replica.Ask("GET", "durable:k")); // no WAIT of our own: Rampart's came first
        }

        // 100 writes pipelined in one send: far fewer WAITs than writes.
        ReplicatedRedis.ResetStats(redis.Master);
        client.Send(Enumerable.Range(0, 100).SelectMany(i => RespTestClient.Command("SET", $"durable:p:{i}", $"{i}")).ToArray());
        for (int i = 0; i < 100; i++) Assert.Equal("OK", Replies.Text(client.ReadReply()));
        long waits = ReplicatedRedis.Calls(redis.Master, "wait");
        Assert.InRange(waits, 1, 20);
        for (int i = 0; i < 100; i++) Assert.Equal($"{i}", replica.Ask("GET", $"durable:p:{i}"));

        // Reads and refused writes are not held, and the stats count what was.
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"{i}").Take(3), Replies.Array(client.Call("MGET", "durable:p:0", "durable:p:1", "durable:p:2")));
        Assert.StartsWith("-WRONGTYPE", client.Ask("LPUSH", "durable:k", "x"));
        Assert.True(rampart.Server.GetPool("rw").Routing.Default.Stats.AckedWrites >= 400);
    }

    [Fact]
    public async Task WithTheReplicaStopped_WritesGetNoReplicas_AndOtherClientsReadsGoOn()
    {
        using var redis = ReplicatedRedis.Start(replicas: 1);
        await using var rampart = await RampartUnderTest.StartAsync(redis.Pool(ReadFrom.Master) with { MinReplicasAck = 1, AckTimeoutMs = 1500 });
        using var writer = RespTestClient.ConnectTcp(rampart.Port);
        using var reader = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal("OK", writer.Ask("SET", "held:k", "before"));

        redis.Replicas[0].Freeze();
        try
        {
            writer.Send(RespTestClient.Command("SET", "held:k", "after"));
            Thread.Sleep(300); // the WAIT after it is now blocking on the master
            for (int i = 0; i < 50; i++) Assert.Contains(reader.Ask("GET", "held:k"), new[] { "before", "after" });
            Assert.Equal(0, writer.Available); // the write is still held while the reads were answered
            Assert.Equal("-NOREPLICAS rampart: write reached 0 of 1 replicas within 1500 ms; it may or may not persist", Replies.Text(writer.ReadReply()));
            Assert.True(rampart.Server.GetPool("rw").Routing.Default.Stats.AckShortfalls >= 1);

            // Known short: the next writes do not hold the writers' lane for the whole ack_timeout each.
            Assert.Equal("-NOREPLICAS rampart: write reached 0 of 1 replicas, short since a WAIT of 1500 ms (checked again every second); it may or may not persist", writer.Ask("SET", "held:k", "again"));
        }
        finally
        {
            redis.Replicas[0].Thaw();
        }
        // The replica back: within a recheck period a full WAIT is tried again, and writes are acknowledged as before.
        await Poll.WaitUntilAsync(() => writer.Ask("SET", "held:k", "back") == "OK", TimeSpan.FromSeconds(15));
        using var replica = RespTestClient.ConnectTcp(redis.Replicas[0].Port);
        Assert.Equal("back", replica.Ask("GET", "held:k"));
    }
}
