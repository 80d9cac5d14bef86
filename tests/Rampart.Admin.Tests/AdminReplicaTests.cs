using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Admin.Tests;

/// <summary>
/// The admin API over a pool that reads from replicas and waits for them on writes (a real master and replica): each
/// replica's reads, lag and eligibility, the writes held for acknowledgement, and the backend's errors split between
/// server trouble and client-caused replies, on the dashboard and in /metrics.
/// </summary>
[Collection(AdminCollection.Name)]
public sealed class AdminReplicaTests
{
    [Fact]
    public async Task ReadReplicas_DurableWrites_AndErrorKinds_AreShown()
    {
        using var redis = ReplicatedRedis.Start(replicas: 1);
        await using var admin = await AdminHarness.StartAsync(redis.Pool(ReadFrom.Replica) with { MinReplicasAck = 1, AckTimeoutMs = 2000 });
        Assert.True(Poll.WaitUntil(() => admin.Rampart.Server.TakeSnapshot().Pools.Single().Backends.Single().ReadReplicas
            is [{ ExcludedBecause: null }], TimeSpan.FromSeconds(10)));

        using (var client = RespTestClient.ConnectTcp(admin.Rampart.Port))
        {
            Assert.Equal("OK", client.Call("SET", "adm:k", "v"));
            using var reader = RespTestClient.ConnectTcp(admin.Rampart.Port);
            for (int i = 0; i < 5; i++) Assert.Equal("v", RespTestClient.AsText(reader.Call("GET", "adm:k")));
            Assert.IsType<RespError>(client.Call("LPUSH", "adm:k", "x")); // WRONGTYPE: the client's doing
        }

        string page = await admin.GetTextAsync("/");
        Assert.Contains($"data-read-replica=\"{redis.Replicas[0].Endpoint}\"", page);
        Assert.Contains("<span data-field=\"reads\">5</span> reads", page);
        Assert.Contains("<span data-field=\"writes-acked\">1</span> held for replicas", page);
        Assert.Contains("<span data-field=\"server-errors\" class=\"\">0 server</span>", page);
        Assert.Contains("<span data-field=\"reply-errors\">1 replies</span>", page);

        string metrics = await admin.GetTextAsync("/metrics");
        Assert.Equal(5, PrometheusText.Sum(metrics, "rampart_replica_reads_total", ("pool", "rw")));
        Assert.Equal(1, PrometheusText.Sum(metrics, "rampart_replica_eligible", ("pool", "rw")));
        Assert.True(PrometheusText.Sum(metrics, "rampart_replica_lag_ms", ("pool", "rw")) >= 0);
        Assert.Equal(1, PrometheusText.Sum(metrics, "rampart_backend_writes_acked_total", ("pool", "rw")));
        Assert.Equal(0, PrometheusText.Sum(metrics, "rampart_backend_server_errors_total", ("pool", "rw")));
    }
}
