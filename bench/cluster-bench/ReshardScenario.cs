using System.Diagnostics;

namespace ClusterBench;

/// <summary>
/// Live resharding (issue 16, "Done when"): the load clients write and read unique keys through the target while
/// <c>redis-cli --cluster reshard</c> moves slots between masters, back and forth; then every acknowledged write is
/// read back. Wanted: 0 errors, 0 wrong replies, 0 lost.
/// </summary>
public static class ReshardScenario
{
    // Moves by master index: back and forth between the first two, then to the third and back.
    private static readonly (int From, int To)[] Plan = [(0, 1), (1, 0), (0, 2), (2, 0)];

    public static void Run(BenchEnvironment env, Options o, string command, CancellationToken stop)
    {
        var masters = env.Cluster.Masters;
        var load = new LoadRun(o.Clients, env.NewClient);
        var clock = Stopwatch.StartNew();
        load.Start();
        int moved = 0, reshards = 0;
        var lines = new List<string>();
        try
        {
            Thread.Sleep(1000); // load running before the first move
            for (int i = 0; i < o.Reshards && !stop.IsCancellationRequested; i++)
            {
                var (from, to) = (masters[Plan[i % Plan.Length].From], masters[Plan[i % Plan.Length].To]);
                var t = Stopwatch.StartNew();
                env.Cluster.ReshardAsync(from, to, o.ReshardSlots).GetAwaiter().GetResult();
                lines.Add($"reshard {i + 1}: {o.ReshardSlots} slots {from.Port} -> {to.Port} in {t.Elapsed.TotalSeconds:F1} s (writes acknowledged so far {load.Writes})");
                Console.Error.WriteLine(lines[^1]);
                moved += o.ReshardSlots;
                reshards++;
            }
            Thread.Sleep(1000); // and after the last
        }
        finally
        {
            load.Stop();
        }
        var duration = clock.Elapsed;
        using var verifier = env.NewClient();
        var (lost, unreadable) = load.Verify(verifier);

        Console.WriteLine($"\n## reshard: {o.Clients} clients through {env.TargetName}, {moved} slots moved in {reshards} reshards\n");
        Console.WriteLine($"command: {command}\n");
        foreach (var line in lines) Console.WriteLine($"- {line}");
        Console.WriteLine();
        Console.WriteLine(Stats.Header("target", "slots moved", "seconds", "writes acked", "reads", "errors", "wrong replies", "acked writes lost", "unreadable at verify"));
        Console.WriteLine(Stats.Row(env.TargetName, moved, $"{duration.TotalSeconds:F1}", load.Writes, load.Reads, load.Errors(0),
            load.Wrong(0), lost[0], unreadable[0]));
        PrintSamples(load);
    }

    public static void PrintSamples(LoadRun load)
    {
        foreach (var sample in load.ErrorSamples) Console.WriteLine($"  e.g. {sample}");
    }
}
