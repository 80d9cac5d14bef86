namespace ClusterBench;

/// <summary>The command line: which scenarios, against which Rampart, and how long. Every default is a short run.</summary>
public sealed record Options
{
    public string[] Scenarios { get; init; } = ["throughput", "reshard", "failover"];
    public string Rampart { get; init; } = "src/Rampart/bin/Release/net10.0/rampart";
    /// <summary>Throughput only: a second Rampart build run beside the first, as the target "baseline" (before/after a change).</summary>
    public string? Baseline { get; init; }
    /// <summary>No Rampart: the "through Rampart" client is a cluster-aware StackExchange.Redis connection to the cluster.</summary>
    public bool DirectOnly { get; init; }
    /// <summary>
    /// Throughput: the cluster's nodes and redis-benchmark on CPU 0, Rampart on CPU 1 (taskset), so Rampart does not take
    /// the CPU the cluster and its clients use: a proxy on a host (or core) of its own, as deployed.
    /// </summary>
    public bool Pin { get; init; }
    /// <summary>Throughput: bench/floor-proxy/floor-cluster.c as a third target (the least one proxy hop costs here).</summary>
    public bool Floor { get; init; }
    /// <summary>Rampart's <c>event_loops</c> (1, its default, unless given).</summary>
    public int EventLoops { get; init; } = 1;
    public int Rounds { get; init; } = 5;
    public double Seconds { get; init; } = 3;
    public int Clients { get; init; } = 50;
    public int ReshardSlots { get; init; } = 500;
    public int Reshards { get; init; } = 4;
    /// <summary>Seconds of load before and after each failover.</summary>
    public double LoadSeconds { get; init; } = 3;

    public const string Usage = """
        cluster-bench [--scenarios throughput,reshard,failover] [--rampart PATH] [--baseline PATH] [--event-loops 1] [--pin] [--floor] [--direct-only]
                      [--rounds 5] [--seconds 3] [--clients 50] [--reshard-slots 500] [--reshards 4] [--load-seconds 3]
          --rampart PATH   the built rampart executable, or rampart.dll (run with dotnet); relative to the repo root
          --baseline PATH  throughput: another rampart build, measured in the same interleaved rounds (target "baseline")
          --event-loops N  Rampart's event_loops (default 1, as Rampart's own default)
          --pin            throughput: cluster nodes and redis-benchmark on CPU 0, Rampart on CPU 1 (taskset)
          --floor          throughput: also bench/floor-proxy/floor-cluster.c (built with gcc), a proxy that only routes by slot
          --direct-only    no Rampart: the load clients are a cluster-aware StackExchange.Redis connection to the cluster
        """;

    public static Options Parse(string[] args)
    {
        var o = new Options();
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
            o = args[i] switch
            {
                "--scenarios" => o with { Scenarios = Value().Split(',', StringSplitOptions.RemoveEmptyEntries) },
                "--rampart" => o with { Rampart = Value() },
                "--baseline" => o with { Baseline = Value() },
                "--event-loops" => o with { EventLoops = int.Parse(Value()) },
                "--pin" => o with { Pin = true },
                "--floor" => o with { Floor = true },
                "--direct-only" => o with { DirectOnly = true },
                "--rounds" => o with { Rounds = int.Parse(Value()) },
                "--seconds" => o with { Seconds = double.Parse(Value()) },
                "--clients" => o with { Clients = int.Parse(Value()) },
                "--reshard-slots" => o with { ReshardSlots = int.Parse(Value()) },
                "--reshards" => o with { Reshards = int.Parse(Value()) },
                "--load-seconds" => o with { LoadSeconds = double.Parse(Value()) },
                _ => throw new ArgumentException($"unknown argument {args[i]}\n{Usage}"),
            };
        }
        foreach (var s in o.Scenarios)
            if (s is not ("throughput" or "reshard" or "failover")) throw new ArgumentException($"unknown scenario {s}\n{Usage}");
        return o;
    }
}
