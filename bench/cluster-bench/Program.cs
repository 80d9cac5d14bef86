using ClusterBench;

// bench/cluster-bench: each scenario on its own cluster and Rampart, every process stopped by PID at the end, on an
// exception, on Ctrl-C (the running scenario stops at its next step) and on SIGTERM (ProcessExit).
Options options;
try
{
    options = Options.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

string command = "bench/cluster-bench/run " + string.Join(" ", args);
using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
    Console.Error.WriteLine("stopping after the current step (Ctrl-C again to force)");
    Console.CancelKeyPress += (_, _) => Cleanup.DisposeAll();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => Cleanup.DisposeAll();

Console.WriteLine($"# cluster-bench, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} CPUs, " +
    $"{(options.DirectOnly ? "direct only (no Rampart)" : $"rampart {options.Rampart}")}");
int status = 0;
foreach (var scenario in options.Scenarios)
{
    if (stop.IsCancellationRequested) break;
    try
    {
        using var env = Cleanup.Track(BenchEnvironment.Start(options));
        switch (scenario)
        {
            case "throughput": ThroughputScenario.Run(env, options, command, stop.Token); break;
            case "reshard": ReshardScenario.Run(env, options, command, stop.Token); break;
            case "failover": FailoverScenario.Run(env, options, command, stop.Token); break;
        }
    }
    catch (Exception e)
    {
        Console.Error.WriteLine($"{scenario} failed: {e}");
        status = 1;
    }
    finally
    {
        Cleanup.DisposeAll();
    }
}
return status;
