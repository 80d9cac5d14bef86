using System.Net;
using System.Text.Json;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Admin.Tests;

/// <summary>
/// The admin API over a Redis Cluster pool (three real masters): the masters with the slots each serves and the
/// redirections followed, the slot map's version and age on the dashboard and in /metrics, the slot-map event, and
/// /readyz failing closed once slots have no master.
/// </summary>
[Collection(AdminCollection.Name)]
public sealed class AdminClusterTests
{
    [Fact]
    public async Task ClusterPool_ShowsMastersSlotsAndRedirections_AndReadyzFailsClosedWhenSlotsLoseTheirMaster()
    {
        using var cluster = RedisClusterProcess.Start();
        await using var admin = await AdminHarness.StartAsync(ClusterPoolConfig.For(cluster));
        Assert.True(ClusterPoolConfig.WaitForSlotMap(admin.Rampart));

        using (var ready = await admin.Http.GetAsync("/readyz")) Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        string page = await admin.GetTextAsync("/");
        Assert.Contains("(Redis Cluster)", page);
        Assert.Contains("<b>16384</b> of 16384 slots served", page);
        foreach (var node in cluster.Nodes)
        {
            Assert.Contains($"<td data-field=\"address\"><code>127.0.0.1:{node.Port}</code></td>", page);
            int slots = node == cluster.Nodes[0] ? 5461 : node == cluster.Nodes[1] ? 5462 : 5461;
            Assert.Contains($"<tr data-backend=\"127.0.0.1:{node.Port}\">", page);
            Assert.Contains($"{slots} slots, 0 MOVED, 0 ASK", page);
        }
        string metrics = await admin.GetTextAsync("/metrics");
        Assert.Equal(16384, PrometheusText.Sum(metrics, "rampart_cluster_slots_served", ("pool", "cluster")));
        Assert.Equal(16384, PrometheusText.Sum(metrics, "rampart_cluster_node_slots", ("pool", "cluster")));
        Assert.True(PrometheusText.Sum(metrics, "rampart_cluster_slot_map_version", ("pool", "cluster")) >= 1);
        using (var events = JsonDocument.Parse(await admin.GetTextAsync("/events")))
            Assert.Contains(events.RootElement.GetProperty("events").EnumerateArray(), e => e.GetProperty("kind").GetString() == "slot-map");

        // One master's slots given up by every node: the cluster reports itself down (full coverage required), so no
        // node's map is trusted (the map in use stays), and /readyz says why.
        // The owner first: a node that has dropped the slots takes them back from the owner's next ping while the
        // owner still claims them, and then keeps them even after the owner stops claiming them.
        var owner = cluster.Nodes[2];
        foreach (var node in cluster.Nodes.Where(n => n != owner).Prepend(owner))
            node.Send(RespText.Command("CLUSTER", "DELSLOTSRANGE", "10923", "16383"));
        string body = await ReadyzOnceItSaysAsync(admin, "no healthy cluster master gave a slot map");
        Assert.Contains("reports cluster_state:fail", body);

        // The cluster serves the rest once full coverage is not required: the map has slots without a master, so the
        // pool is still not ready, and says which.
        foreach (var node in cluster.Nodes) node.Send(RespText.Command("CONFIG", "SET", "cluster-require-full-coverage", "no"));
        body = await ReadyzOnceItSaysAsync(admin, "cluster slots have no master");
        Assert.Contains("5461 of 16384 cluster slots have no master", body);
        Assert.Contains("<b>10923</b> of 16384 slots served", await admin.GetTextAsync("/"));
    }

    /// <summary>Polls /readyz (up to 20 s) until it is 503 and its body contains <paramref name="text"/>; returns the body.</summary>
    private static async Task<string> ReadyzOnceItSaysAsync(AdminHarness admin, string text)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string body = "";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await admin.Http.GetAsync("/readyz");
            body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable && body.Contains(text)) return body;
            await Task.Delay(100);
        }
        Assert.Fail($"/readyz did not say '{text}' within 20 s; last: {body}");
        return body;
    }
}
