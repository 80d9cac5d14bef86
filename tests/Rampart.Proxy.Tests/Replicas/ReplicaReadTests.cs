using Rampart.Proxy.Configuration;
using Rampart.Proxy.Pools;
using Rampart.Proxy.Tests.Infrastructure;
using Rampart.Proxy.Tests.Pinning;
using static Rampart.Proxy.Tests.Infrastructure.Poll;

namespace Rampart.Proxy.Tests.Replicas;

/// <summary>
/// <c>read_from</c> on a single-server pool with its replicas listed, against a real master and real replicas: reads
/// land on replicas (counted by each node's own INFO commandstats), writes on the master, a client reads its own
/// writes, and a replica that dies or stops answering leaves the set without a reader seeing an error.
/// </summary>
public sealed class ReplicaReadTests
{
    private static async Task<PoolRuntime> ReadyAsync(RampartUnderTest rampart, int eligible)
    {
        var pool = rampart.Server.GetPool("rw");
        await WaitUntilAsync(() => pool.Routing.Default.ReadReplicas.Eligible.Length == eligible, TimeSpan.FromSeconds(10));
        return pool;
    }

    [Fact]
    public async Task Reads_RunOnTheReplicas_AndWritesOnTheMaster()
    {
        using var redis = ReplicatedRedis.Start(replicas: 2);
        await using var rampart = await RampartUnderTest.StartAsync(redis.Pool(ReadFrom.Replica));
        await ReadyAsync(rampart, eligible: 2);
        using (var master = RespTestClient.ConnectTcp(redis.Master.Port))
        {
            for (int i = 0; i < 100; i++) master.Ask("SET", $"rr:{i}", $"v{i}");
            Assert.Equal("2", master.Ask("WAIT", "2", "5000"));
        }
        foreach (var node in redis.Replicas.Append(redis.Master)) ReplicatedRedis.ResetStats(node);

        using var reader = RespTestClient.ConnectTcp(rampart.Port);
        using var writer = RespTestClient.ConnectTcp(rampart.Port);
        for (int i = 0; i < 1000; i++) Assert.Equal($"v{i % 100}", reader.Ask("GET", $"rr:{i % 100}"));
        for (int i = 0; i < 50; i++) Assert.Equal("OK", writer.Ask("SET", $"rr:w:{i}", "x"));

        long onMaster = ReplicatedRedis.Calls(redis.Master, "get");
        long[] onReplicas = redis.Replicas.Select(r => ReplicatedRedis.Calls(r, "get")).ToArray();
        Assert.True(onReplicas.Sum() >= 990, $"GETs on replicas {string.Join("+", onReplicas)}, on the master {onMaster}");
        Assert.All(onReplicas, n => Assert.True(n >= 100, $"reads are shared: {string.Join("+", onReplicas)}"));
        Assert.Equal(50, ReplicatedRedis.Calls(redis.Master, "set"));
    }

    [Fact]
    public async Task AClient_ReadsItsOwnWrites_UnderLoadFromOthers()
    {
        using var redis = ReplicatedRedis.Start(replicas: 2);
        await using var rampart = await RampartUnderTest.StartAsync(redis.Pool(ReadFrom.Replica));
        var pool = await ReadyAsync(rampart, eligible: 2);

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var others = Enumerable.Range(0, 20).Select(n => Task.Run(() =>
        {
            using var client = RespTestClient.ConnectTcp(rampart.Port);
            // Half write and read; half only read, so their reads may go to replicas whatever the replicas' lag (a
            // client that has just written reads from the master until the replicas have its write).
            for (int i = 0; !stop.IsCancellationRequested && i < 100_000; i++)
            {
                if (n % 2 == 0) client.Ask("SET", $"ryw:other:{n}", $"{i}");
                client.Ask("GET", $"ryw:other:{n % 5}");
            }
        })).ToArray();

        using var client = RespTestClient.ConnectTcp(rampart.Port);
        int stale = 0;
        for (int i = 0; i < 3000 && !stop.IsCancellationRequested; i++)
        {
            string value = $"{i}:{Guid.NewGuid():N}";
            Assert.Equal("OK", client.Ask("SET", "ryw:mine", value));
            if (client.Ask("GET", "ryw:mine") != value) stale++;
            // Pipelined: the GET is sent before the SET's reply came back.
            client.Send([.. RespTestClient.Command("SET", "ryw:mine", value + "p"), .. RespTestClient.Command("GET", "ryw:mine")]);
            Assert.Equal("OK", Replies.Text(client.ReadReply()));
            if (Replies.Text(client.ReadReply()) != value + "p") stale++;
        }
        stop.Cancel();
        await Task.WhenAll(others);
        Assert.Equal(0, stale);
        // And reads did go to replicas meanwhile (at least the reading-only clients').
        Assert.True(pool.ReplicaChecks!.Shards.Single().Replicas.Sum(r => r.Reads) > 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AReplicaThatDiesOrStops_IsExcluded_AndReadersSeeNoError(bool freeze)
    {
        using var redis = ReplicatedRedis.Start(replicas: 2);
        await using var rampart = await RampartUnderTest.StartAsync(redis.Pool(ReadFrom.PreferReplica));
        var pool = await ReadyAsync(rampart, eligible: 2);
        using (var master = RespTestClient.ConnectTcp(redis.Master.Port))
        {
            for (int i = 0; i < 50; i++) master.Ask("SET", $"down:{i}", $"v{i}");
            Assert.Equal("2", master.Ask("WAIT", "2", "5000"));
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();
        long reads = 0;
        var readers = Enumerable.Range(0, 8).Select(n => Task.Run(() =>
        {
            using var client = RespTestClient.ConnectTcp(rampart.Port);
            for (int i = n; !stop.IsCancellationRequested && i < 10_000_000; i++)
            {
                string? got = client.Ask("GET", $"down:{i % 50}");
                if (got != $"v{i % 50}") problems.Enqueue(got ?? "(nil)");
                Interlocked.Increment(ref reads);
            }
        })).ToArray();
        await WaitUntilAsync(() => Interlocked.Read(ref reads) > 2000, TimeSpan.FromSeconds(20));

        var victim = redis.Replicas[0];
        var target = pool.ReplicaChecks!.Shards.Single().Replicas.Single(r => r.Endpoint.Config.Port == victim.Port);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        if (freeze) victim.Freeze();
        else victim.Kill();
        try
        {
            await WaitUntilAsync(() => target.ExcludedBecause is not null, TimeSpan.FromSeconds(5));
            var excludedAfter = watch.Elapsed;
            long before = Interlocked.Read(ref reads);
            await WaitUntilAsync(() => Interlocked.Read(ref reads) > before + 2000, TimeSpan.FromSeconds(20));
            stop.Cancel();
            await Task.WhenAll(readers);
            Assert.Empty(problems);
            Assert.Equal([redis.Replicas[1].Port], pool.Routing.Default.ReadReplicas.Eligible.Select(r => r.Endpoint.Config.Port));
            // What the dashboard and /metrics show: the victim excluded with the reason, both with the reads they served.
            var shown = rampart.Server.TakeSnapshot().Pools.Single().Backends.Single().ReadReplicas;
            var victimShown = shown.Single(r => r.Address == victim.Endpoint);
            Assert.StartsWith("unreachable", victimShown.ExcludedBecause);
            Assert.Null(shown.Single(r => r.Address == redis.Replicas[1].Endpoint).ExcludedBecause);
            Assert.All(shown, r => Assert.True(r.Reads > 0));
            Console.WriteLine($"replica {(freeze ? "stopped" : "killed")}: excluded after {excludedAfter.TotalMilliseconds:F0} ms ({target.ExcludedBecause}); {Interlocked.Read(ref reads)} reads, 0 errors");
        }
        finally
        {
            stop.Cancel();
            if (freeze) victim.Thaw();
        }
        if (freeze) await WaitUntilAsync(() => target.ExcludedBecause is null, TimeSpan.FromSeconds(10)); // back once it answers
    }

    [Fact]
    public async Task ReadFromReplica_WithNoEligibleReplica_FailsWithTheReason_AndWritesGoOn()
    {
        using var redis = ReplicatedRedis.Start(replicas: 1);
        await using var rampart = await RampartUnderTest.StartAsync(redis.Pool(ReadFrom.Replica));
        var pool = await ReadyAsync(rampart, eligible: 1);
        redis.Replicas[0].Kill();
        await WaitUntilAsync(() => pool.Routing.Default.ReadReplicas.Eligible.Length == 0, TimeSpan.FromSeconds(5));

        using var client = RespTestClient.ConnectTcp(rampart.Port);
        Assert.StartsWith($"-ERR rampart: no replica can serve reads for '127.0.0.1:{redis.Master.Port}' (read_from replica): ", client.Ask("GET", "k"));
        Assert.Equal("OK", client.Ask("SET", "k", "v"));
        Assert.StartsWith("-ERR rampart: no replica can serve reads", client.Ask("GET", "k"));
    }

    [Fact]
    public async Task PreferReplica_WithNoEligibleReplica_ReadsFromTheMaster()
    {
        using var redis = ReplicatedRedis.Start(replicas: 1);
        await using var rampart = await RampartUnderTest.StartAsync(redis.Pool(ReadFrom.PreferReplica));
        var pool = await ReadyAsync(rampart, eligible: 1);
        using (var master = RespTestClient.ConnectTcp(redis.Master.Port)) master.Ask("SET", "pr:k", "v");
        redis.Replicas[0].Kill();
        await WaitUntilAsync(() => pool.Routing.Default.ReadReplicas.Eligible.Length == 0, TimeSpan.FromSeconds(5));
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal("v", client.Ask("GET", "pr:k"));
    }

    [Fact]
    public async Task Transactions_Scripts_AndCursors_StayOnTheMaster()
    {
        using var redis = ReplicatedRedis.Start(replicas: 1);
        await using var rampart = await RampartUnderTest.StartAsync(redis.Pool(ReadFrom.Replica) with { ReadYourWritesSetting = false });
        await ReadyAsync(rampart, eligible: 1);
        using (var master = RespTestClient.ConnectTcp(redis.Master.Port))
        {
            master.Ask("SET", "tx:k", "v");
            Assert.Equal("1", master.Ask("WAIT", "1", "5000"));
        }
        foreach (var node in redis.Replicas.Append(redis.Master)) ReplicatedRedis.ResetStats(node);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal("OK", client.Ask("MULTI"));
        Assert.Equal("QUEUED", client.Ask("GET", "tx:k"));
        Assert.Equal(["v"], Replies.Array(client.Call("EXEC")));
        Assert.Equal("v", client.Ask("EVAL", "return redis.call('GET', KEYS[1])", "1", "tx:k"));
        Assert.Equal("v", client.Ask("EVAL_RO", "return redis.call('GET', KEYS[1])", "1", "tx:k"));
        Assert.Equal("0", Replies.Text(((object?[])client.Call("SCAN", "0", "COUNT", "100")!)[0]));

        var replica = redis.Replicas[0];
        Assert.Equal(2, ReplicatedRedis.Calls(redis.Master, "get")); // the transaction's, and EVAL's (scripts' calls count)
        Assert.Equal(1, ReplicatedRedis.Calls(redis.Master, "eval"));
        Assert.Equal(1, ReplicatedRedis.Calls(replica, "eval_ro"));
        Assert.Equal(1, ReplicatedRedis.Calls(redis.Master, "scan"));
        Assert.Equal(1, ReplicatedRedis.Calls(replica, "get")); // EVAL_RO's only
    }
}
