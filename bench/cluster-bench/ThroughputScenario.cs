using System.Globalization;
using Rampart.Proxy.Tests.Infrastructure;

namespace ClusterBench;

/// <summary>
/// GET and SET with 50 clients, unpipelined and -P 16: <c>redis-benchmark --cluster</c> direct to the cluster (a
/// cluster-aware client) against plain <c>redis-benchmark</c> to Rampart's listen address, in interleaved rounds
/// (the order of the targets rotates each round), as bench/proxy-bench does; with --baseline, a second Rampart build
/// is another target in the same rounds, and with --floor the floor proxy (<see cref="FloorProxy"/>). Per run, CPU time per request of
/// Rampart and of the cluster's nodes from /proc. The request count of a workload is calibrated once so the slower
/// target takes about --seconds; every target then gets the same count.
/// </summary>
public static class ThroughputScenario
{
    private sealed record Workload(string Name, string Test, int Pipeline);

    private sealed record Result(double OpsPerSecond, double ProxyCpuUs, double ClusterCpuUs);

    private static readonly Workload[] Workloads =
        [new("set-c50", "set", 1), new("get-c50", "get", 1), new("set-c50-P16", "set", 16), new("get-c50-P16", "get", 16)];

    public static void Run(BenchEnvironment env, Options o, string command, CancellationToken stop)
    {
        string[] targets = ["direct", .. Proxies.Where(p => ProxyOf(env, p) is not null)];
        var results = new Dictionary<(string Workload, string Target), List<Result>>();
        var ratios = new Dictionary<(string Workload, string Target), List<double>>();
        if (o.Pin) PinProcesses(env);
        var requests = Workloads.ToDictionary(w => w.Name, w => Calibrate(env, w, targets, o.Seconds, o.Pin));
        for (int round = 0; round < o.Rounds && !stop.IsCancellationRequested; round++)
        {
            foreach (var w in Workloads)
            {
                var order = targets.Skip(round % targets.Length).Concat(targets.Take(round % targets.Length)).ToArray(); // rotates
                var inRound = new Dictionary<string, Result>();
                foreach (var target in order) inRound[target] = Measure(env, w, target, requests[w.Name], o.Pin);
                foreach (var (target, r) in inRound) Get(results, (w.Name, target)).Add(r);
                foreach (var proxy in Proxies)
                    if (inRound.TryGetValue(proxy, out var viaProxy))
                        Get(ratios, (w.Name, proxy)).Add(viaProxy.OpsPerSecond / inRound["direct"].OpsPerSecond);
            }
            Console.Error.WriteLine($"throughput: round {round + 1} of {o.Rounds} done");
        }

        Console.WriteLine($"\n## throughput: redis-benchmark -c 50 -r 100000 -d 16, {o.Rounds} interleaved rounds" +
            (o.Pin ? ", cluster and redis-benchmark on CPU 0, Rampart on CPU 1\n" : "\n"));
        Console.WriteLine($"command: {command}\n");
        Console.WriteLine("direct:  redis-benchmark " + string.Join(" ", BenchmarkArgs(env, Workloads[0], "direct", 0)).Replace(" -n 0 ", " -n N "));
        foreach (var proxy in targets.Skip(1))
            Console.WriteLine($"{proxy}: redis-benchmark " + string.Join(" ", BenchmarkArgs(env, Workloads[0], proxy, 0)).Replace(" -n 0 ", " -n N "));
        Console.WriteLine("(-t get / -t set, and -P 16 for the pipelined rows)\n");
        Console.WriteLine(Stats.Header("workload", "target", "requests", "ops/s", "ratio to direct (range)", "proxy CPU µs/req", "cluster CPU µs/req"));
        foreach (var w in Workloads)
            foreach (var target in targets)
            {
                if (!results.TryGetValue((w.Name, target), out var rs)) continue;
                bool proxy = target != "direct";
                string ratio = proxy ? $"{Stats.Median(ratios[(w.Name, target)]):F2}x ({ratios[(w.Name, target)].Min():F2}-{ratios[(w.Name, target)].Max():F2})" : "";
                string proxyCpu = proxy ? $"{Stats.Median(rs.Select(r => r.ProxyCpuUs)):F2}" : "";
                Console.WriteLine(Stats.Row(w.Name, target, requests[w.Name], $"{Stats.Median(rs.Select(r => r.OpsPerSecond)):F0}", ratio,
                    proxyCpu, $"{Stats.Median(rs.Select(r => r.ClusterCpuUs)):F2}"));
            }
        Console.WriteLine("\nops/s and CPU: medians over rounds; ratio: median of per-round ratios. CPU µs/req = (utime + stime from " +
            "/proc/PID/stat over the run) / requests, of the proxy process (rampart, baseline or floor), and of the six cluster nodes together.");
    }

    private static readonly string[] Proxies = ["rampart", "baseline", "floor"];

    /// <summary>The (pid, port) of a proxy target, or null when this run has no such target.</summary>
    private static (int Pid, int Port)? ProxyOf(BenchEnvironment env, string target) => target switch
    {
        "rampart" when env.Rampart is { } r => (r.Pid, r.Port),
        "baseline" when env.Baseline is { } b => (b.Pid, b.Port),
        "floor" when env.Floor is { } f => (f.Pid, f.Port),
        _ => null,
    };

    private static List<T> Get<TKey, T>(Dictionary<TKey, List<T>> map, TKey key) where TKey : notnull =>
        map.TryGetValue(key, out var list) ? list : map[key] = [];

    /// <summary>A short run per target; the count that takes the slower one about <paramref name="seconds"/>.</summary>
    private static int Calibrate(BenchEnvironment env, Workload w, string[] targets, double seconds, bool pin)
    {
        const int Probe = 20_000;
        double slowest = targets.Min(t => Measure(env, w, t, Probe * w.Pipeline, pin).OpsPerSecond);
        return (int)Math.Clamp(slowest * seconds, 10_000, 50_000_000);
    }

    /// <summary>--pin: every thread of every cluster node on CPU 0, of each proxy on CPU 1.</summary>
    private static void PinProcesses(BenchEnvironment env)
    {
        foreach (int pid in env.ClusterPids) Taskset("0", pid);
        foreach (var proxy in Proxies)
            if (ProxyOf(env, proxy) is { } p) Taskset("1", p.Pid);
    }

    private static void Taskset(string cpus, int pid)
    {
        var run = ExternalProgram.RunAsync("taskset", ["-a", "-p", "-c", cpus, pid.ToString()], timeout: TimeSpan.FromSeconds(10))
            .GetAwaiter().GetResult();
        if (run.ExitCode != 0) throw new InvalidOperationException($"taskset failed: {run}");
    }

    private static Result Measure(BenchEnvironment env, Workload w, string target, int requests, bool pin)
    {
        int[] proxy = ProxyOf(env, target) is { } p ? [p.Pid] : [];
        double proxy0 = ProcessCpu.Seconds(proxy), cluster0 = ProcessCpu.Seconds(env.ClusterPids);
        // --pin: the client shares CPU 0 with the cluster, as an application beside its data would not, but the same
        // for both targets.
        string[] args = BenchmarkArgs(env, w, target, requests);
        var run = (pin ? ExternalProgram.RunAsync("taskset", ["-c", "0", "redis-benchmark", .. args], timeout: TimeSpan.FromMinutes(5))
                       : ExternalProgram.RunAsync("redis-benchmark", args, timeout: TimeSpan.FromMinutes(5)))
            .GetAwaiter().GetResult();
        double proxy1 = ProcessCpu.Seconds(proxy), cluster1 = ProcessCpu.Seconds(env.ClusterPids);
        if (run.ExitCode != 0) throw new InvalidOperationException($"redis-benchmark failed: {run}");
        // The CSV row of the test: "SET","123456.78",... (--cluster mode prints its node list first, not in CSV).
        string line = run.Stdout.Split('\n').FirstOrDefault(l => l.StartsWith($"\"{w.Test.ToUpperInvariant()}\"", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"no CSV row for {w.Test} in redis-benchmark's output: {run}");
        double rps = double.Parse(line.Split(',')[1].Trim('"'), CultureInfo.InvariantCulture);
        return new Result(rps, (proxy1 - proxy0) * 1e6 / requests, (cluster1 - cluster0) * 1e6 / requests);
    }

    private static string[] BenchmarkArgs(BenchEnvironment env, Workload w, string target, int requests)
    {
        string[] where = target == "direct"
            ? ["--cluster", "-h", "127.0.0.1", "-p", env.Cluster.Masters[0].Port.ToString()]
            : ["-h", "127.0.0.1", "-p", ProxyOf(env, target)!.Value.Port.ToString()];
        string[] pipeline = w.Pipeline > 1 ? ["-P", w.Pipeline.ToString()] : [];
        return [.. where, "-c", "50", "-n", requests.ToString(), "-r", "100000", "-d", "16", "-t", w.Test, .. pipeline, "--csv"];
    }
}
