using System.Diagnostics;
using System.Text;
using Rampart.Protocol;

namespace Rampart.Cli.Demo;

/// <summary>
/// The demo's Sentinel deployment on loopback: 1 master, 2 replicas (<c>--replicaof</c>) and 3 sentinels
/// (quorum 2, down-after 1000 ms, failover-timeout 3000 ms), their files in one temp dir. Start-up waits (bounded)
/// until every sentinel names the master and lists both replicas and the other sentinels. Dispose kills every process
/// by PID and removes the temp dir; start-up failing or cancelled half-way does the same.
/// </summary>
internal sealed class DemoTopology : IDisposable
{
    public const string MasterName = "mymaster";
    public const int Quorum = 2;
    private const int ReplicaCount = 2;
    private const int SentinelCount = 3;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly List<DemoProcess> _processes = [];
    private readonly Lock _lock = new();
    private bool _disposed;

    private DemoTopology(string directory)
    {
        Directory = directory;
        // Safety net: if the process ends without Dispose (the command line's own Ctrl-C timeout), still kill them.
        AppDomain.CurrentDomain.ProcessExit += OnProcessExit;
    }

    public string Directory { get; }
    /// <summary>Every process started, in start order: master, replicas, sentinels.</summary>
    public IReadOnlyList<DemoProcess> Processes { get { lock (_lock) return _processes.ToArray(); } }
    public DemoProcess Master => Processes[0];
    public IEnumerable<DemoProcess> Replicas => Processes.Where(p => p.Role == "replica");
    public IEnumerable<DemoProcess> Sentinels => Processes.Where(p => p.Role == "sentinel");

    public static async Task<DemoTopology> StartAsync(Action<string> progress, CancellationToken cancel)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"rampart-demo-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..8]}");
        System.IO.Directory.CreateDirectory(dir);
        var topology = new DemoTopology(dir);
        try
        {
            await topology.StartAllAsync(progress, cancel);
            return topology;
        }
        catch
        {
            topology.Dispose();
            throw;
        }
    }

    private async Task StartAllAsync(Action<string> progress, CancellationToken cancel)
    {
        var clock = Stopwatch.StartNew();
        var master = await StartAsync("master", port => DataNodeArgs(port, "node-0", replicaOf: null), cancel);
        for (int i = 1; i <= ReplicaCount; i++)
            await StartAsync("replica", port => DataNodeArgs(port, $"node-{i}", replicaOf: master.Port), cancel);
        progress($"redis-servers up; waiting for both replicas to sync with the master on :{master.Port}");
        // Replicas linked before the sentinels start, so the sentinels' first INFO of the master lists them
        // (otherwise discovery waits for the next 10 s INFO period).
        await WaitUntilAsync(ReplicationProblems, clock, "replication", cancel);
        for (int i = 0; i < SentinelCount; i++)
        {
            string conf = Path.Combine(Directory, $"sentinel-{i}.conf");
            await StartAsync("sentinel", port =>
            {
                File.WriteAllText(conf, SentinelConfig(port, master.Port));
                return [conf, "--sentinel"];
            }, cancel);
        }
        progress("sentinels up; waiting until each names the master and knows the replicas and the other sentinels");
        await WaitUntilAsync(SentinelProblems, clock, "sentinels", cancel);
    }

    private async Task<DemoProcess> StartAsync(string role, Func<int, IEnumerable<string>> arguments, CancellationToken cancel)
    {
        var process = await DemoProcess.StartAsync(role, arguments, Directory, cancel);
        lock (_lock)
        {
            if (_disposed)
            {
                process.Dispose();
                throw new OperationCanceledException();
            }
            _processes.Add(process);
        }
        return process;
    }

    private string[] DataNodeArgs(int port, string name, int? replicaOf)
    {
        string dir = Path.Combine(Directory, name);
        System.IO.Directory.CreateDirectory(dir);
        var args = new List<string>
        {
            "--port", port.ToString(), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no",
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0", "--loglevel", "warning",
        };
        if (replicaOf is int p) args.AddRange(["--replicaof", "127.0.0.1", p.ToString()]);
        return args.ToArray();
    }

    private string SentinelConfig(int port, int masterPort) => new StringBuilder()
        .AppendLine($"port {port}")
        .AppendLine("bind 127.0.0.1")
        .AppendLine("daemonize no")
        .AppendLine($"dir \"{Directory}\"")
        .AppendLine("logfile \"\"")
        .AppendLine($"sentinel monitor {MasterName} 127.0.0.1 {masterPort} {Quorum}")
        .AppendLine($"sentinel down-after-milliseconds {MasterName} 1000")
        .AppendLine($"sentinel failover-timeout {MasterName} 3000")
        .AppendLine($"sentinel parallel-syncs {MasterName} 1")
        .ToString();

    // ---- readiness ----

    private static async Task WaitUntilAsync(Func<List<string>> problems, Stopwatch clock, string what, CancellationToken cancel)
    {
        while (true)
        {
            var now = problems();
            if (now.Count == 0) return;
            if (clock.Elapsed > ReadyTimeout)
                throw new DemoException($"{what} not ready after {clock.Elapsed.TotalSeconds:0} s:\n    " + string.Join("\n    ", now));
            await Task.Delay(100, cancel);
        }
    }

    private List<string> ReplicationProblems()
    {
        var problems = new List<string>();
        foreach (var replica in Replicas)
        {
            string info = DemoResp.Text(DemoResp.Ask(replica.Port, "INFO", "replication")) ?? "";
            if (!info.Contains($"master_port:{Master.Port}\r\n") || !info.Contains("master_link_status:up\r\n"))
                problems.Add($"replica :{replica.Port} has no live link to the master :{Master.Port}");
        }
        return problems;
    }

    private List<string> SentinelProblems()
    {
        var problems = new List<string>();
        foreach (var sentinel in Sentinels)
        {
            string who = $"sentinel :{sentinel.Port}";
            if (DemoResp.Ask(sentinel.Port, "SENTINEL", "get-master-addr-by-name", MasterName) is not { Kind: RespValue.ValueKind.Array, Items.Count: 2 } addr
                || DemoResp.Text(addr.Items[1]) != Master.Port.ToString())
                problems.Add($"{who} does not name the master :{Master.Port} yet");
            var replicas = Entries(DemoResp.Ask(sentinel.Port, "SENTINEL", "REPLICAS", MasterName));
            foreach (var replica in Replicas)
            {
                var entry = replicas.FirstOrDefault(r => r.GetValueOrDefault("port") == replica.Port.ToString());
                string flags = entry?.GetValueOrDefault("flags") ?? "";
                if (entry is null || flags.Contains("s_down") || flags.Contains("disconnected"))
                    problems.Add($"{who} does not see the replica :{replica.Port} up yet ({(entry is null ? "unknown" : flags)})");
            }
            int others = Entries(DemoResp.Ask(sentinel.Port, "SENTINEL", "SENTINELS", MasterName)).Count;
            if (others < SentinelCount - 1)
                problems.Add($"{who} knows {others} of the {SentinelCount - 1} other sentinels");
        }
        return problems;
    }

    /// <summary>SENTINEL REPLICAS / SENTINELS: an array of flat field/value arrays.</summary>
    private static List<Dictionary<string, string>> Entries(RespValue? reply) =>
        reply is { Kind: RespValue.ValueKind.Array }
            ? reply.Items.Where(entry => entry.Kind == RespValue.ValueKind.Array).Select(entry => entry.AsFieldMap()).ToList()
            : [];

    // ---- teardown ----

    private void OnProcessExit(object? sender, EventArgs e) => Dispose();

    /// <summary>Kills every process by PID (sentinels first, so none reacts to the others going) and removes the temp dir.</summary>
    public void Dispose()
    {
        DemoProcess[] processes;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            processes = _processes.ToArray();
        }
        AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
        foreach (var process in Enumerable.Reverse(processes)) process.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"rampart demo: could not remove {Directory}: {e.Message}");
        }
    }
}
