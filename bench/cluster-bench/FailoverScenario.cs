using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;

namespace ClusterBench;

/// <summary>
/// Cluster failovers under write load (issue 16, "Done when"), on one cluster in turn:
/// <list type="number">
/// <item><c>CLUSTER FAILOVER</c> on a replica: acknowledged writes lost (wanted 0), and the longest write gap clients
/// saw against the cluster's own switch time (FAILOVER sent until the replica says ROLE master).</item>
/// <item><c>kill -9</c> of a master: time from the kill until a write to its slots is acknowledged again, against the
/// cluster's failover time (kill until its replica says ROLE master); errors on the other masters' slots (wanted 0)
/// counted apart from those on its own.</item>
/// </list>
/// Keys are put in category 1 when their slot belongs to the master failed over, 0 otherwise.
/// </summary>
public static class FailoverScenario
{
    public static void Run(BenchEnvironment env, Options o, string command, CancellationToken stop)
    {
        Console.WriteLine($"\n## failover: {o.Clients} clients through {env.TargetName}, {o.LoadSeconds} s of load before and after\n");
        Console.WriteLine($"command: {command}\n");
        Console.WriteLine(Stats.Header("event", "cluster switch", "writes resume / longest gap (its slots)", "longest gap (one client)",
            "errors (its slots)", "errors (other slots)", "wrong replies", "acked writes lost (its slots / other)", "writes acked"));
        var samples = new List<string>();
        samples.AddRange(ManualFailover(env, o));
        if (!stop.IsCancellationRequested)
        {
            if (!Poll.WaitUntil(env.Cluster.IsReady, TimeSpan.FromSeconds(30)))
                throw new InvalidOperationException("the cluster did not settle after the manual failover");
            // With Redis's default cluster-require-full-coverage yes, every node answers CLUSTERDOWN while the dead
            // master's slots have no owner (Redis fails the whole cluster closed, and Rampart passes that on at once);
            // with "no" the other masters keep serving: both rows, so the table shows which errors are the cluster's.
            samples.AddRange(KillMaster(env, o, fullCoverage: true));
            if (!stop.IsCancellationRequested && Poll.WaitUntil(env.Cluster.IsReady, TimeSpan.FromSeconds(30)))
                samples.AddRange(KillMaster(env, o, fullCoverage: false));
        }
        foreach (var sample in samples) Console.WriteLine($"  e.g. {sample}");
    }

    private static IReadOnlyList<string> ManualFailover(BenchEnvironment env, Options o)
    {
        var victim = env.Cluster.Masters[0];
        var replica = env.Cluster.ReplicasOf(victim).Single();
        var load = StartLoad(env, o, victim);
        long at;
        TimeSpan switchTime;
        try
        {
            Thread.Sleep(TimeSpan.FromSeconds(o.LoadSeconds));
            at = Stopwatch.GetTimestamp();
            switchTime = env.Cluster.Failover(replica);
            Thread.Sleep(TimeSpan.FromSeconds(o.LoadSeconds));
        }
        finally
        {
            load.Stop();
        }
        long end = Stopwatch.GetTimestamp();
        return Report(env, load, $"CLUSTER FAILOVER on {replica.Port} (master {victim.Port})", switchTime,
            $"gap {Stats.Ms(load.LongestCategoryGap(1, at, end))}", load.LongestClientGap(at, end));
    }

    private static IReadOnlyList<string> KillMaster(BenchEnvironment env, Options o, bool fullCoverage)
    {
        var victim = env.Cluster.Masters.First(m => env.Cluster.ReplicasOf(m).Count > 0);
        var replica = env.Cluster.ReplicasOf(victim).First();
        foreach (var node in env.Cluster.Masters.Concat(env.Cluster.Replicas))
            RedisClusterProcess.Call(node.Server, "CONFIG", "SET", "cluster-require-full-coverage", fullCoverage ? "yes" : "no");
        var load = StartLoad(env, o, victim);
        long at;
        TimeSpan? failoverTime = null;
        try
        {
            Thread.Sleep(TimeSpan.FromSeconds(o.LoadSeconds));
            env.Cluster.Kill(victim); // returns once the process is gone: no write sent after this reaches it
            at = Stopwatch.GetTimestamp();
            if (RedisClusterProcess.WaitForRole(replica, "master", TimeSpan.FromSeconds(30))) failoverTime = Stopwatch.GetElapsedTime(at);
            // Clients may sit in a timeout on the dead node past the promotion: wait (bounded) for writes to its slots
            // to come back, then the usual load after.
            Poll.WaitUntil(() => load.FirstAckOfWriteSentAfter(1, at) is not null, TimeSpan.FromSeconds(15));
            Thread.Sleep(TimeSpan.FromSeconds(o.LoadSeconds));
        }
        finally
        {
            load.Stop();
        }
        long end = Stopwatch.GetTimestamp();
        var resumed = load.FirstAckOfWriteSentAfter(1, at) is { } first ? Stopwatch.GetElapsedTime(at, first) : (TimeSpan?)null;
        return Report(env, load, $"kill -9 of master {victim.Port} (replica {replica.Port}), full coverage {(fullCoverage ? "yes" : "no")}", failoverTime,
            $"resume {Stats.Ms(resumed)}", load.LongestClientGap(at, end));
    }

    private static LoadRun StartLoad(BenchEnvironment env, Options o, ClusterNode victim)
    {
        var owners = RedisClusterProcess.SlotOwners(victim);
        var load = new LoadRun(o.Clients, env.NewClient, key => owners[env.SlotOf(key)] == victim.Port ? 1 : 0);
        load.Start();
        return load;
    }

    /// <summary>Prints the event's row; returns a few of the errors the clients saw, to print under the table.</summary>
    private static IReadOnlyList<string> Report(BenchEnvironment env, LoadRun load, string label, TimeSpan? clusterTime, string resume, TimeSpan clientGap)
    {
        using var verifier = env.NewClient();
        var (lost, unreadable) = load.Verify(verifier);
        string unread = unreadable.Sum() > 0 ? $" ({unreadable[1]} / {unreadable[0]} unreadable)" : "";
        Console.WriteLine(Stats.Row(label, Stats.Ms(clusterTime), resume, Stats.Ms(clientGap), load.Errors(1), load.Errors(0),
            load.Wrong(0) + load.Wrong(1), $"{lost[1]} / {lost[0]}{unread}", load.Writes));
        return load.ErrorSamples;
    }
}
