using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;
using Xunit.Abstractions;

namespace Rampart.Proxy.Tests.Topology;

/// <summary>One default topology (1 master, 2 replicas, 3 sentinels) for the tests that leave it as they found it.</summary>
public sealed class SentinelTopologyFixture : IAsyncLifetime
{
    public SentinelTopology Topology { get; private set; } = null!;
    public TimeSpan StartTime { get; private set; }

    public async Task InitializeAsync()
    {
        var sw = Stopwatch.StartNew();
        Topology = await SentinelTopology.StartAsync();
        StartTime = sw.Elapsed;
    }

    public async Task DisposeAsync()
    {
        if (Topology is not null) await Topology.DisposeAsync();
    }
}

/// <summary>The real-process Sentinel topology itself: start-up, quorum, failovers, passwords.</summary>
public sealed class SentinelTopologyTests(SentinelTopologyFixture fixture, ITestOutputHelper output) : IClassFixture<SentinelTopologyFixture>
{
    private static readonly TimeSpan FailoverTimeout = TimeSpan.FromSeconds(15);

    [Fact]
    public void Starts_and_a_quorum_agrees_on_the_first_master()
    {
        var t = fixture.Topology;
        output.WriteLine($"topology ready in {fixture.StartTime.TotalMilliseconds:0} ms");
        Assert.Equal(t.Node(0).Port, t.CurrentMasterPort());
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(t.Node(0).Port, t.MasterPortFrom(i));
            Assert.Equal(2, Assert.IsType<object?[]>(t.AskSentinel(i, "SENTINEL", "SENTINELS", t.MasterName)).Length);
            Assert.Equal(2, Assert.IsType<object?[]>(t.AskSentinel(i, "SENTINEL", "REPLICAS", t.MasterName)).Length);
        }
        Assert.Equal("master", t.RoleOf(0));
        Assert.Equal("slave", t.RoleOf(1));
        Assert.Equal("slave", t.RoleOf(2));
        var master = SentinelTopology.ToMap(Assert.IsType<object?[]>(Assert.IsType<object?[]>(t.AskSentinel(0, "SENTINEL", "MASTERS")).Single()));
        Assert.Equal("mymaster", master["name"]);
        Assert.Equal("master", master["flags"]);
        Assert.Equal("2", master["quorum"]);
        Assert.Equal("2", master["num-slaves"]);
        Assert.Equal("2", master["num-other-sentinels"]);
    }

    [Fact]
    public void A_write_on_the_master_reaches_the_replicas()
    {
        var t = fixture.Topology;
        int master = t.NodeIndexOf(t.CurrentMasterPort());
        using (var client = t.ConnectNode(master)) // one connection: WAIT counts only its own connection's writes
        {
            Assert.Equal("OK", client.Ask("SET", "fixture-key", "v1"));
            Assert.Equal("2", client.Ask("WAIT", "2", "2000"));
        }
        for (int i = 0; i < t.Nodes.Count; i++) Assert.Equal("v1", t.AskNode(i, "GET", "fixture-key"));
    }

    [Fact]
    public async Task A_killed_sentinel_comes_back_on_its_port_and_the_quorum_holds_meanwhile()
    {
        var t = fixture.Topology;
        int master = t.CurrentMasterPort();
        int port = t.Sentinel(2).Port;
        t.KillSentinel(2);
        Assert.False(t.Sentinel(2).IsRunning);
        Assert.Null(t.MasterPortFrom(2));
        Assert.Equal(master, t.CurrentMasterPort()); // 2 of 3 is still a quorum of 2
        t.RestartSentinel(2);
        Assert.Equal(port, t.Sentinel(2).Port);
        Assert.Equal(master, await t.WaitUntilStableAsync(TimeSpan.FromSeconds(15)));
        // It kept its state in the rewritten config file.
        string conf = File.ReadAllText(t.Sentinel(2).ConfigFile);
        Assert.Contains("sentinel known-replica", conf);
        Assert.Contains("sentinel known-sentinel", conf);
    }

    [Fact]
    public async Task SENTINEL_FAILOVER_moves_the_master_and_WaitForMasterChange_returns_the_new_one()
    {
        await using var t = await SentinelTopology.StartAsync();
        int old = t.CurrentMasterPort();
        var all = SentinelEventRecorder.OnAll(t);
        using var events = all[0];
        using var others = new Disposables(all[1..]);
        var sw = Stopwatch.StartNew();
        foreach (var r in all) r.Zero();
        t.TriggerFailover();
        int now = await t.WaitForMasterChangeAsync(old, FailoverTimeout);
        output.WriteLine($"SENTINEL FAILOVER: new master :{now} (was :{old}) after {sw.ElapsedMilliseconds} ms");
        Assert.NotEqual(old, now);
        Assert.Equal(now, t.CurrentMasterPort());
        Assert.Equal("master", t.RoleOf(t.NodeIndexOf(now)));
        // The old master is left running as a master with no replicas (it still takes writes!) until a sentinel
        // converts it into a replica of the new one, about 10 s later (+convert-to-slave).
        Assert.Equal("master", t.RoleOf(0));
        while (t.RoleOf(0) == "master" && sw.Elapsed < TimeSpan.FromSeconds(20)) await Task.Delay(50);
        output.WriteLine($"old master :{old} reports role {t.RoleOf(0)} from {sw.ElapsedMilliseconds} ms");
        Assert.Equal(now, await t.WaitUntilStableAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal("slave", t.RoleOf(0));
        output.WriteLine($"whole again after {sw.ElapsedMilliseconds} ms");
        await Task.Delay(500);
        foreach (var e in all.SelectMany(r => r.Events).OrderBy(e => e.At)) output.WriteLine(e.ToString());
        Assert.NotNull(await events.WaitForAsync("+switch-master", TimeSpan.Zero));
    }

    [Fact]
    public async Task Kill_9_of_the_master_gives_a_new_master_within_about_five_seconds()
    {
        await using var t = await SentinelTopology.StartAsync();
        int old = t.CurrentMasterPort();
        var all = SentinelEventRecorder.OnAll(t);
        using var events = all[0];
        using var others = new Disposables(all[1..]);
        var sw = Stopwatch.StartNew();
        foreach (var r in all) r.Zero();
        t.KillNode(0);
        int now = await t.WaitForMasterChangeAsync(old, FailoverTimeout);
        var elapsed = sw.Elapsed;
        output.WriteLine($"kill -9: new master :{now} (was :{old}) agreed by all sentinels after {elapsed.TotalMilliseconds:0} ms");
        Assert.NotEqual(old, now);
        Assert.True(elapsed < TimeSpan.FromSeconds(8), $"failover took {elapsed}");

        // The killed master comes back on its port as a replica of the new one; the sentinels take it back.
        await Task.Delay(1000);
        var restarted = sw.Elapsed;
        t.RestartNode(0);
        Assert.Equal(old, t.Node(0).Port);
        // Whole again with the old master as a replica. Usually still under the master of the first failover; on a
        // CPU-starved box (down-after is 1000 ms) Sentinel may fail over once more, which is Sentinel's call, not a
        // fixture fault (seen twice in full-suite runs), so the stable master may be the third node.
        int stable = await t.WaitUntilStableAsync(FailoverTimeout);
        Assert.NotEqual(old, stable);
        Assert.Equal("slave", t.RoleOf(0));
        output.WriteLine($"old master restarted at {restarted.TotalMilliseconds:0} ms; whole again under :{stable} after {sw.ElapsedMilliseconds} ms");
        await Task.Delay(500);
        foreach (var e in all.SelectMany(r => r.Events).OrderBy(e => e.At)) output.WriteLine(e.ToString());
        var sdown = await events.WaitForAsync("+sdown", TimeSpan.Zero, e => e.Message.StartsWith("master ", StringComparison.Ordinal));
        var odown = await events.WaitForAsync("+odown", TimeSpan.Zero);
        var switched = await events.WaitForAsync("+switch-master", TimeSpan.Zero);
        Assert.NotNull(sdown);
        Assert.NotNull(odown);
        Assert.NotNull(switched);
        Assert.Equal($"mymaster 127.0.0.1 {old} 127.0.0.1 {now}", switched.Message);
    }

    [Fact]
    public async Task A_start_up_that_fails_half_way_leaves_no_process_behind()
    {
        // Long enough to start every process, far too short for the sentinels to discover each other.
        var e = await Assert.ThrowsAsync<TimeoutException>(() =>
            SentinelTopology.StartAsync(new SentinelTopologyOptions { ReadyTimeout = TimeSpan.FromMilliseconds(300) }));
        output.WriteLine(e.Message);
        string dir = System.Text.RegularExpressions.Regex.Match(e.Message, @"topology dir was (\S+);").Groups[1].Value;
        Assert.NotEmpty(dir);
        Assert.False(System.IO.Directory.Exists(dir));
        var survivors = System.IO.Directory.GetDirectories("/proc")
            .Where(d => int.TryParse(Path.GetFileName(d), out _))
            .Select(d => { try { return File.ReadAllText(Path.Combine(d, "cmdline")).Replace('\0', ' '); } catch (IOException) { return ""; } catch (UnauthorizedAccessException) { return ""; } })
            .Where(cmd => cmd.Contains(dir, StringComparison.Ordinal))
            .ToList();
        Assert.Empty(survivors);
    }

    [Fact]
    public async Task Password_protected_sentinels_and_data_nodes()
    {
        await using var t = await SentinelTopology.StartAsync(new SentinelTopologyOptions
        {
            DataPassword = "data-secret",
            SentinelPassword = "sentinel-secret",
        });
        // Started at all means: sentinels reached the nodes with auth-pass and each other with sentinel-pass.
        int master = t.CurrentMasterPort();
        Assert.Equal(t.Node(0).Port, master);

        using (var anonymous = RespTestClient.ConnectTcp(t.Sentinel(0).Port))
        {
            var error = Assert.IsType<RespError>(anonymous.CallText("SENTINEL", "MASTERS"));
            Assert.StartsWith("NOAUTH", error.Message);
            Assert.IsType<RespError>(anonymous.CallText("AUTH", "wrong"));
        }
        using (var anonymous = RespTestClient.ConnectTcp(master))
            Assert.StartsWith("NOAUTH", Assert.IsType<RespError>(anonymous.CallText("GET", "k")).Message);
        Assert.Single(Assert.IsType<object?[]>(t.AskSentinel(0, "SENTINEL", "MASTERS")));
        Assert.Equal("OK", t.AskNode(0, "SET", "k", "v"));

        // And a failover works through the passwords (sentinels must AUTH to promote and repoint).
        var sw = Stopwatch.StartNew();
        t.KillNode(0);
        int now = await t.WaitForMasterChangeAsync(master, FailoverTimeout);
        output.WriteLine($"with passwords, kill -9: new master :{now} after {sw.ElapsedMilliseconds} ms");
        Assert.Equal("OK", t.AskNode(t.NodeIndexOf(now), "SET", "k", "v2"));
    }
}

internal sealed class Disposables(IEnumerable<IDisposable> items) : IDisposable
{
    public void Dispose()
    {
        foreach (var item in items) item.Dispose();
    }
}
