using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Topology;

/// <summary>
/// A Sentinel pool in front of real redis-servers and redis-sentinels (down-after 1000 ms, failover-timeout 3000 ms):
/// Rampart routes only to the master a quorum names and that answers ROLE master, follows failovers on the same
/// client connections, and fails closed when it cannot confirm a master.
/// </summary>
public sealed class SentinelPoolTests
{
    private static PoolConfig Pool(SentinelTopology topology, string? sentinelPassword = null, string? redisAuth = null, int checkIntervalMs = 250) =>
        SentinelPoolConfig.For(topology, sentinelPassword, redisAuth, checkIntervalMs);

    private static string? DirectGet(SentinelTopology topology, int port, string key)
    {
        var value = topology.AskNode(topology.NodeIndexOf(port), "GET", key);
        return value is byte[] bytes ? System.Text.Encoding.UTF8.GetString(bytes) : value as string;
    }

    [Fact]
    public async Task GracefulFailover_IsFollowedOnTheSameClientConnection()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var rampart = await RampartUnderTest.StartAsync(Pool(topology));
        using var client = new RawClient(rampart.Port);
        int oldMaster = topology.CurrentMasterPort();

        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "before", "1"), "+OK", TimeSpan.FromSeconds(10)));
        Assert.Equal("1", DirectGet(topology, oldMaster, "before"));
        // The stats show the confirmed master and its two replicas, as the master and the sentinels report them.
        using (var stats = System.Text.Json.JsonDocument.Parse(rampart.Server.GetTwemproxyStatsJson()))
        {
            var master = stats.RootElement.GetProperty("ha").GetProperty("mymaster");
            Assert.Equal(1, master.GetProperty("master_confirmed").GetInt32());
            Assert.Equal(2, master.GetProperty("replicas").GetInt32());
            Assert.Equal(2, master.GetProperty("replicas_known").GetInt32());
            Assert.True(master.GetProperty("replication_lag_max_bytes").GetInt64() >= 0);
        }

        topology.TriggerFailover();
        int newMaster = await topology.WaitForMasterChangeAsync(oldMaster, TimeSpan.FromSeconds(20));
        Assert.NotEqual(oldMaster, newMaster);

        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "after", "2"), "+OK", TimeSpan.FromSeconds(10)));
        Assert.Equal("2", DirectGet(topology, newMaster, "after"));
    }

    [Fact]
    public async Task MasterKilled_FailsClosedWithReason_ThenWritesResumeOnTheNewMaster()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var rampart = await RampartUnderTest.StartAsync(Pool(topology));
        using var client = new RawClient(rampart.Port);
        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "warm", "1"), "+OK", TimeSpan.FromSeconds(10)));
        int oldMaster = topology.CurrentMasterPort();

        topology.KillNode(topology.NodeIndexOf(oldMaster));
        var acknowledged = new List<string>();
        var errors = new List<string>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        for (int i = 0; DateTime.UtcNow < deadline && acknowledged.Count < 20; i++)
        {
            string key = $"k{i}";
            client.Send(RespText.Command("SET", key, key));
            string reply = client.ReadLine();
            if (reply == "+OK") acknowledged.Add(key);
            else
            {
                Assert.StartsWith("-ERR rampart: ", reply);
                errors.Add(reply);
            }
            await Task.Delay(50);
        }
        Assert.Equal(20, acknowledged.Count);
        Assert.Contains(errors, e => e.Contains("no confirmed master for 'mymaster'"));
        // Until the sentinels agree the master is down they still name it; the reason says why Rampart does not follow.
        Assert.Contains(errors, e => e.EndsWith($"(127.0.0.1:{oldMaster} is named by 3 of 3 sentinels but does not answer ROLE (connection refused))", StringComparison.Ordinal));

        // Every acknowledged write is on the master the sentinels settled on.
        int newMaster = await topology.WaitForMasterChangeAsync(oldMaster, TimeSpan.FromSeconds(10));
        Assert.NotEqual(oldMaster, newMaster);
        foreach (var key in acknowledged) Assert.Equal(key, DirectGet(topology, newMaster, key));
    }

    [Fact]
    public async Task FrozenMasterReturnsAfterTheFailover_GetsNoCommandFromRampart()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var rampart = await RampartUnderTest.StartAsync(Pool(topology));
        using var client = new RawClient(rampart.Port);
        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "warm", "1"), "+OK", TimeSpan.FromSeconds(10)));
        int oldMaster = topology.CurrentMasterPort();
        int oldIndex = topology.NodeIndexOf(oldMaster);

        topology.Node(oldIndex).Freeze();
        int newMaster;
        try
        {
            newMaster = await topology.WaitForMasterChangeAsync(oldMaster, TimeSpan.FromSeconds(20));
        }
        finally
        {
            topology.Node(oldIndex).Thaw();
        }
        // Back, and for some seconds it still believes it is master (Sentinel demotes it later).
        long setsBefore = SetCalls(topology, oldIndex);
        var acknowledged = new List<string>();
        for (int i = 0; i < 60; i++)
        {
            string key = $"thawed:{i}";
            client.Send(RespText.Command("SET", key, key));
            if (client.ReadLine() == "+OK") acknowledged.Add(key);
            await Task.Delay(25);
        }
        Assert.Equal(setsBefore, SetCalls(topology, oldIndex));
        Assert.NotEmpty(acknowledged);
        foreach (var key in acknowledged) Assert.Equal(key, DirectGet(topology, newMaster, key));
    }

    /// <summary>How many SET commands a node has executed (INFO commandstats): Sentinel itself never sends SET.</summary>
    private static long SetCalls(SentinelTopology topology, int node)
    {
        var info = topology.AskNode(node, "INFO", "commandstats");
        string text = info is byte[] b ? System.Text.Encoding.UTF8.GetString(b) : (string)info!;
        var line = text.Split("\r\n").FirstOrDefault(l => l.StartsWith("cmdstat_set:", StringComparison.Ordinal));
        if (line is null) return 0;
        var calls = line.Split(',')[0]["cmdstat_set:calls=".Length..];
        return long.Parse(calls);
    }

    [Fact]
    public async Task ReadonlyReplyFromTheMaster_IsPassedOn_AndTriggersARecheckThatFailsClosed()
    {
        await using var topology = await SentinelTopology.StartAsync();
        // A periodic re-check a minute away: only the -READONLY reply itself can make Rampart look again in time.
        await using var rampart = await RampartUnderTest.StartAsync(Pool(topology, checkIntervalMs: 60_000));
        using var client = new RawClient(rampart.Port);
        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "a", "1"), "+OK", TimeSpan.FromSeconds(10)));
        int master = topology.CurrentMasterPort();
        int other = topology.NodePorts.First(p => p != master);

        // Demoted behind Sentinel's back: the quorum still names it, but it is a replica now.
        topology.AskNode(topology.NodeIndexOf(master), "REPLICAOF", "127.0.0.1", other.ToString());
        client.Send(RespText.Command("SET", "b", "1"));
        Assert.StartsWith("-READONLY ", client.ReadLine());

        string closed = $"-ERR rampart: no confirmed master for 'mymaster' (127.0.0.1:{master} is named by 3 of 3 sentinels but answers ROLE slave)";
        Assert.Equal(closed, await client.RepeatUntilAsync(RespText.Command("SET", "c", "1"), closed, TimeSpan.FromSeconds(2)));
        topology.AskNode(topology.NodeIndexOf(master), "REPLICAOF", "NO", "ONE");
    }

    [Fact]
    public async Task OneOfThreeSentinelsDown_EverythingKeepsWorking()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var rampart = await RampartUnderTest.StartAsync(Pool(topology));
        using var client = new RawClient(rampart.Port);
        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "a", "1"), "+OK", TimeSpan.FromSeconds(10)));
        topology.KillSentinel(2);
        for (int i = 0; i < 20; i++)
        {
            client.Send(RespText.Command("SET", $"s{i}", "v"));
            Assert.Equal("+OK", client.ReadLine());
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task TwoOfThreeSentinelsDown_ThenMasterKilled_FailsClosed_AndRecoversOnTheNewMasterWhenTheyReturn()
    {
        await using var topology = await SentinelTopology.StartAsync();
        await using var rampart = await RampartUnderTest.StartAsync(Pool(topology));
        using var client = new RawClient(rampart.Port);
        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "a", "1"), "+OK", TimeSpan.FromSeconds(10)));
        int oldMaster = topology.CurrentMasterPort();

        topology.KillSentinel(1);
        topology.KillSentinel(2);
        const string closed = "-ERR rampart: no confirmed master for 'mymaster' (1 of 3 sentinels agree, 2 needed)";
        Assert.Equal(closed, await client.RepeatUntilAsync(RespText.Command("SET", "b", "1"), closed, TimeSpan.FromSeconds(10)));

        // The lone sentinel cannot elect a leader, so nothing fails over: Rampart must stay closed, never guess.
        topology.KillNode(topology.NodeIndexOf(oldMaster));
        for (int i = 0; i < 10; i++)
        {
            client.Send(RespText.Command("SET", "b", "1"));
            Assert.Equal(closed, client.ReadLine());
            await Task.Delay(200);
        }

        topology.RestartSentinel(1);
        topology.RestartSentinel(2);
        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "c", "after"), "+OK", TimeSpan.FromSeconds(30)));
        int newMaster = await topology.WaitForMasterChangeAsync(oldMaster, TimeSpan.FromSeconds(10));
        Assert.Equal("after", DirectGet(topology, newMaster, "c"));
    }

    [Fact]
    public async Task PasswordProtectedSentinelsAndServers_Work()
    {
        await using var topology = await SentinelTopology.StartAsync(new SentinelTopologyOptions
        {
            SentinelPassword = "sentinel-secret",
            DataPassword = "data-secret",
        });
        await using var rampart = await RampartUnderTest.StartAsync(Pool(topology, "sentinel-secret", "data-secret"));
        using var client = new RawClient(rampart.Port);
        client.Send(RespText.Command("AUTH", "data-secret"));
        Assert.Equal("+OK", client.ReadLine());
        Assert.Equal("+OK", await client.RepeatUntilAsync(RespText.Command("SET", "p", "1"), "+OK", TimeSpan.FromSeconds(10)));
        Assert.Equal("1", DirectGet(topology, topology.CurrentMasterPort(), "p"));
    }
}

/// <summary>The write fence: a graceful failover under continuous writes loses no acknowledged write.</summary>
public sealed class WriteFenceTests
{
    [Fact]
    public async Task GracefulFailover_UnderContinuousWrites_LosesNoAcknowledgedWrite()
    {
        await using var topology = await SentinelTopology.StartAsync();
        var pool = SentinelPoolConfig.For(topology, timeoutMs: 2000);
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        int oldMaster = topology.CurrentMasterPort();
        using (var warm = new RawClient(rampart.Port))
            Assert.Equal("+OK", await warm.RepeatUntilAsync(RespText.Command("SET", "warm", "1"), "+OK", TimeSpan.FromSeconds(10)));

        var acknowledged = new System.Collections.Concurrent.ConcurrentBag<string>();
        int failed = 0;
        var stopAt = DateTime.UtcNow.AddSeconds(7);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            using var client = new RawClient(rampart.Port);
            for (int n = 0; DateTime.UtcNow < stopAt; n++)
            {
                string key = $"w{w}:{n}";
                client.Send(RespText.Command("SET", key, key));
                string reply = client.ReadLine();
                if (reply == "+OK") acknowledged.Add(key);
                else Interlocked.Increment(ref failed);
                Thread.Sleep(2);
            }
        })).ToArray();

        await Task.Delay(1000);
        topology.TriggerFailover();
        int newMaster = await topology.WaitForMasterChangeAsync(oldMaster, TimeSpan.FromSeconds(20));
        await Task.WhenAll(writers);

        Assert.True(acknowledged.Count > 200, $"only {acknowledged.Count} writes were acknowledged");
        var lost = acknowledged.Where(key =>
        {
            var value = topology.AskNode(topology.NodeIndexOf(newMaster), "GET", key);
            return (value is byte[] b ? System.Text.Encoding.UTF8.GetString(b) : value as string) != key;
        }).ToList();
        Assert.True(lost.Count == 0, $"{lost.Count} of {acknowledged.Count} acknowledged writes are missing on the new master (failed attempts: {failed}); first: {string.Join(", ", lost.Take(5))}");
    }

    [Theory]
    [InlineData("master mymaster 127.0.0.1 6379 #quorum 2/2", "mymaster")]
    [InlineData("slave 127.0.0.1:6380 127.0.0.1 6380 @ mymaster 127.0.0.1 6379", "mymaster")]
    [InlineData("sentinel 1a2b 127.0.0.1 26379 @ other 127.0.0.1 6379", "other")]
    [InlineData("garbage", null)]
    public void MasterNameOf_ReadsSentinelEventPayloads(string payload, string? expected) =>
        Assert.Equal(expected, Rampart.Proxy.Topology.SentinelMonitor.MasterNameOf(payload));
}
