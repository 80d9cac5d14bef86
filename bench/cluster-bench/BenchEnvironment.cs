using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace ClusterBench;

/// <summary>
/// What one scenario runs against: its own cluster (3 masters + 3 replicas on free ports, in a temp dir), Rampart in
/// front of it (unless --direct-only) with its config and log in a second temp dir, and a cluster-aware
/// StackExchange.Redis connection direct to the cluster (for key slots, and as the load client with --direct-only).
/// Disposing stops Rampart and every node by PID and removes both dirs.
/// </summary>
public sealed class BenchEnvironment : IDisposable
{
    public RedisClusterProcess Cluster { get; }
    public RampartServer? Rampart { get; }
    /// <summary>The --baseline build, in front of the same cluster (throughput comparisons), or null.</summary>
    public RampartServer? Baseline { get; private init; }
    /// <summary>--floor: the floor proxy in front of the same cluster (throughput comparisons), or null.</summary>
    public FloorProxy? Floor { get; private init; }
    public ConnectionMultiplexer Direct { get; }
    public string Dir { get; }

    /// <summary>What the load clients talk to, for the tables.</summary>
    public string TargetName => Rampart is null ? "direct (StackExchange.Redis, cluster-aware)" : "rampart";

    private BenchEnvironment(RedisClusterProcess cluster, RampartServer? rampart, ConnectionMultiplexer direct, string dir)
    {
        Cluster = cluster;
        Rampart = rampart;
        Direct = direct;
        Dir = dir;
    }

    public static BenchEnvironment Start(Options options)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"cluster-bench-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        RedisClusterProcess? cluster = null;
        RampartServer? rampart = null;
        try
        {
            cluster = RedisClusterProcess.StartWithReplicas();
            Console.Error.WriteLine($"cluster: {string.Join(", ", cluster.ClusterNodes.Select(n => $"{n.Port} {n.Role} pid {n.Pid}"))}");
            var seeds = cluster.Masters.Take(2).Select(m => m.Endpoint).ToList();
            if (!options.DirectOnly)
            {
                rampart = RampartServer.Start(options.Rampart, dir, seeds, options.EventLoops);
                Console.Error.WriteLine($"rampart: 127.0.0.1:{rampart.Port} pid {rampart.Pid}, log {rampart.LogFile}");
            }
            var direct = ConnectionMultiplexer.Connect(new ConfigurationOptions
            {
                EndPoints = { seeds[0], seeds[1] },
                AbortOnConnectFail = false,
                ConnectTimeout = 2000,
                SyncTimeout = 5000,
                AsyncTimeout = 5000,
                // StackExchange.Redis sends no write to a node it last saw as a replica, so after a failover it relies
                // on this periodic check (60 s by default) to learn the new roles; 1 s, as the node timeout.
                ConfigCheckSeconds = 1,
            });
            RampartServer? baseline = null;
            if (!options.DirectOnly && options.Baseline is { } basePath)
            {
                string baseDir = Directory.CreateDirectory(Path.Combine(dir, "baseline")).FullName;
                baseline = RampartServer.Start(basePath, baseDir, seeds, options.EventLoops);
                Console.Error.WriteLine($"baseline: 127.0.0.1:{baseline.Port} pid {baseline.Pid} ({basePath})");
            }
            FloorProxy? floor = null;
            if (options.Floor && options.Scenarios.Contains("throughput"))
            {
                floor = FloorProxy.Start(dir, direct);
                Console.Error.WriteLine($"floor: 127.0.0.1:{floor.Port} pid {floor.Pid}");
            }
            return new BenchEnvironment(cluster, rampart, direct, dir) { Baseline = baseline, Floor = floor };
        }
        catch
        {
            rampart?.Dispose();
            cluster?.Dispose();
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    /// <summary>A new load client: its own plain connection to Rampart, or (direct-only) the shared cluster-aware one.</summary>
    public IKvClient NewClient() => Rampart is { } r ? new PlainKvClient(r.Port) : new ClusterKvClient(Direct.GetDatabase());

    /// <summary>The cluster slot of a key (CRC16 with hash tags), by StackExchange.Redis: not by the engine under test.</summary>
    public int SlotOf(string key) => Direct.HashSlot(key);

    public IEnumerable<int> ClusterPids => Cluster.ClusterNodes.Select(n => n.Pid);

    private int _disposed;

    /// <summary>Where the Rampart log of the last scenario is kept.</summary>
    public static readonly string LastLog = Path.Combine(Path.GetTempPath(), "cluster-bench-last-rampart.log");

    /// <summary>Once only: Ctrl-C, ProcessExit and the scenario's own end may all get here.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        Direct.Dispose();
        Rampart?.Dispose();
        Baseline?.Dispose();
        Floor?.Dispose();
        Cluster.Dispose();
        // The last scenario's Rampart log outlives its directory, to read what Rampart saw (e.g. slot-map changes).
        if (Rampart is not null) File.Copy(Rampart.LogFile, LastLog, overwrite: true);
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }
}
