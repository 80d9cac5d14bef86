using System.Net;
using System.Text.Json;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Admin.Tests;

/// <summary>
/// The admin API over a Sentinel pool (1 master, 2 replicas, 3 sentinels, quorum 2, all real): the shard's confirmed
/// master, how many Sentinels agree, the replicas with their lag, the confirmation event, and /readyz failing closed
/// with the reason once no quorum can be reached.
/// </summary>
[Collection(AdminCollection.Name)]
public sealed class AdminSentinelTests
{
    private static PoolConfig Pool(SentinelTopology topology) => SentinelPoolConfig.For(topology);

    [Fact]
    public async Task SentinelShard_ShowsMasterAgreeingSentinelsAndReplicas_AndReadyzFailsClosedWithoutQuorum()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var admin = await AdminHarness.StartAsync(Pool(topology));
        int master = topology.CurrentMasterPort();

        // Ready once the master is confirmed and the replicas have been seen (the first checks take a moment).
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string page = "";
        while (DateTime.UtcNow < deadline)
        {
            using var ready = await admin.Http.GetAsync("/readyz");
            page = await admin.GetTextAsync("/");
            if (ready.StatusCode == HttpStatusCode.OK && page.Contains("class=\"replica\" data-replica=")
                && page.Split("data-replica=").Length == 3) break;
            await Task.Delay(100);
        }
        Assert.Contains("<tr data-backend=\"mymaster\">", page);
        Assert.Contains($"<td data-field=\"address\"><code>127.0.0.1:{master}</code></td>", page);
        Assert.Contains("<td data-field=\"role\">master</td>", page);
        Assert.Contains("<td data-field=\"detail\">3 of 3 (quorum 2)</td>", page);
        foreach (int port in topology.NodePorts.Where(p => p != master))
            Assert.Contains($"data-replica=\"127.0.0.1:{port}\"", page);

        using (var events = JsonDocument.Parse(await admin.GetTextAsync("/events")))
        {
            var confirmed = events.RootElement.GetProperty("events").EnumerateArray()
                .Single(e => e.GetProperty("kind").GetString() == "master-confirmed");
            Assert.Equal("mymaster", confirmed.GetProperty("server").GetString());
            Assert.Contains($"127.0.0.1:{master}", confirmed.GetProperty("message").GetString());
        }
        string metrics = await admin.GetTextAsync("/metrics");
        Assert.Equal(3, PrometheusText.Sum(metrics, "rampart_sentinel_agreeing", ("pool", "ha"), ("backend", "mymaster")));
        Assert.Equal(1, PrometheusText.Sum(metrics, "rampart_sentinel_master_confirmed", ("pool", "ha"), ("backend", "mymaster")));

        // Two of three sentinels gone: no quorum, so no confirmed master, and /readyz says so.
        topology.KillSentinel(1);
        topology.KillSentinel(2);
        deadline = DateTime.UtcNow.AddSeconds(20);
        HttpStatusCode status = HttpStatusCode.OK;
        string body = "";
        while (DateTime.UtcNow < deadline && status != HttpStatusCode.ServiceUnavailable)
        {
            using var response = await admin.Http.GetAsync("/readyz");
            status = response.StatusCode;
            body = await response.Content.ReadAsStringAsync();
            if (status != HttpStatusCode.ServiceUnavailable) await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("no confirmed master for 'mymaster'", body);
        Assert.Contains("needed", body);
        page = await admin.GetTextAsync("/");
        Assert.Contains("<td data-field=\"state\" class=\"down\"", page);
    }

    [Fact]
    public async Task AReplicaTheSentinelsKnowButTheMasterLost_IsListedWithTheReason()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var admin = await AdminHarness.StartAsync(Pool(topology));
        int master = topology.CurrentMasterPort();
        int victim = topology.NodePorts.First(p => p != master);
        topology.KillNode(topology.NodeIndexOf(victim));

        // The master drops it from ROLE at once; the sentinels flag it s_down after down-after-milliseconds (1 s).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        string page = "";
        while (DateTime.UtcNow < deadline)
        {
            page = await admin.GetTextAsync("/");
            if (page.Contains($"data-missing-replica=\"127.0.0.1:{victim}\"") && page.Contains("down for the sentinels")) break;
            await Task.Delay(200);
        }
        Assert.Contains($"<tr class=\"replica\" data-missing-replica=\"127.0.0.1:{victim}\">", page);
        Assert.Contains("down for the sentinels (flags", page);
        Assert.DoesNotContain("known to the sentinels but not connected", page); // listed by address instead of counted
    }
}
