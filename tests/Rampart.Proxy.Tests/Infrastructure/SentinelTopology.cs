using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>What <see cref="SentinelTopology.StartAsync"/> builds. Quorum defaults to a majority of the sentinels.</summary>
public sealed record SentinelTopologyOptions
{
    public int ReplicaCount { get; init; } = 2;
    public int SentinelCount { get; init; } = 3;
    public int? Quorum { get; init; }
    /// <summary>requirepass + masterauth on every data node, <c>sentinel auth-pass</c> in every sentinel.</summary>
    public string? DataPassword { get; init; }
    /// <summary>requirepass on every sentinel, and <c>sentinel sentinel-pass</c> so the sentinels can talk to each other.</summary>
    public string? SentinelPassword { get; init; }
    public string MasterName { get; init; } = "mymaster";
    public int DownAfterMs { get; init; } = 1000;
    public int FailoverTimeoutMs { get; init; } = 3000;
    /// <summary>How long <see cref="SentinelTopology.StartAsync"/> waits for the whole topology to be ready.</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(20);

    public int EffectiveQuorum => Quorum ?? SentinelCount / 2 + 1;
}

/// <summary>
/// A real Sentinel deployment on loopback: one master and N replicas (real redis-servers, index 0 is the first master)
/// and M sentinels watching them under one master name, each with its own config file in a temp dir. Every process is
/// killed by PID on dispose, also when start-up fails half-way.
/// </summary>
public sealed class SentinelTopology : IDisposable, IAsyncDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private const int QueryTimeoutMs = 2000;

    private readonly RedisServerProcess?[] _nodes;
    private readonly int[] _nodePorts;
    private readonly SentinelProcess?[] _sentinels;
    private bool _disposed;

    public SentinelTopologyOptions Options { get; }
    public string MasterName => Options.MasterName;
    public int Quorum => Options.EffectiveQuorum;
    /// <summary>The temp dir holding the sentinel config files and the data nodes' working dirs.</summary>
    public string Directory { get; }

    /// <summary>Data nodes by index; index 0 was the master at start. A killed node stays here (Kill is idempotent).</summary>
    public IReadOnlyList<RedisServerProcess> Nodes => _nodes.Select(n => n!).ToArray();
    public IReadOnlyList<SentinelProcess> Sentinels => _sentinels.Select(s => s!).ToArray();
    public IReadOnlyList<int> NodePorts => _nodePorts;
    public IReadOnlyList<int> SentinelPorts => _sentinels.Select(s => s!.Port).ToArray();

    public RedisServerProcess Node(int index) => _nodes[index]!;
    public SentinelProcess Sentinel(int index) => _sentinels[index]!;

    /// <summary>Index of the data node on <paramref name="port"/>.</summary>
    public int NodeIndexOf(int port) =>
        Array.IndexOf(_nodePorts, port) is var i and >= 0 ? i : throw new ArgumentException($"no data node on port {port}");

    private SentinelTopology(SentinelTopologyOptions options, string directory)
    {
        Options = options;
        Directory = directory;
        _nodes = new RedisServerProcess?[options.ReplicaCount + 1];
        _nodePorts = new int[options.ReplicaCount + 1];
        _sentinels = new SentinelProcess?[options.SentinelCount];
    }

    public static async Task<SentinelTopology> StartAsync(SentinelTopologyOptions? options = null)
    {
        options ??= new SentinelTopologyOptions();
        if (options.SentinelCount < 1 || options.ReplicaCount < 0) throw new ArgumentException("need at least one sentinel");
        if (options.EffectiveQuorum < 1 || options.EffectiveQuorum > options.SentinelCount) throw new ArgumentException("bad quorum");
        string dir = Path.Combine(Path.GetTempPath(), $"rampart-sentinel-{Environment.ProcessId}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(dir);
        var topology = new SentinelTopology(options, dir);
        try
        {
            await topology.StartAllAsync();
            return topology;
        }
        catch (Exception e)
        {
            topology.Dispose();
            if (e is TimeoutException) throw new TimeoutException($"{e.Message}\n(topology dir was {dir}; every process killed)", e);
            throw;
        }
    }

    private async Task StartAllAsync()
    {
        var deadline = Stopwatch.StartNew();
        _nodes[0] = StartNode(0, replicaOfPort: null);
        _nodePorts[0] = _nodes[0]!.Port;
        for (int i = 1; i < _nodes.Length; i++)
        {
            _nodes[i] = StartNode(i, replicaOfPort: _nodePorts[0]);
            _nodePorts[i] = _nodes[i]!.Port;
        }
        // Replicas linked before the sentinels start, so their first INFO of the master already lists every replica
        // (otherwise discovery waits for the next 10 s INFO period).
        await WaitUntilAsync(() => DataNodeProblems(0), Options.ReadyTimeout - deadline.Elapsed, "data nodes");
        for (int i = 0; i < _sentinels.Length; i++) _sentinels[i] = StartSentinel(i);
        await WaitUntilAsync(() => Problems(0, strict: true), Options.ReadyTimeout - deadline.Elapsed, "sentinel topology");
    }

    // ---- data nodes ----

    private string[] NodeArgs(int index, int? replicaOfPort)
    {
        string nodeDir = Path.Combine(Directory, $"node-{index}");
        System.IO.Directory.CreateDirectory(nodeDir);
        var args = new List<string> { "--dir", nodeDir, "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0" };
        if (Options.DataPassword is { } pw) args.AddRange(["--requirepass", pw, "--masterauth", pw]);
        if (replicaOfPort is { } p) args.AddRange(["--replicaof", "127.0.0.1", p.ToString()]);
        return args.ToArray();
    }

    private RedisServerProcess StartNode(int index, int? replicaOfPort, int fixedPort = 0) =>
        RedisServerProcess.StartOn(fixedPort, NodeArgs(index, replicaOfPort));

    /// <summary>kill -9 of data node <paramref name="index"/>.</summary>
    public void KillNode(int index) => _nodes[index]!.Kill();

    /// <summary>
    /// Starts data node <paramref name="index"/> again on its port (killing it first if it still runs): as a replica of
    /// the master a quorum of sentinels reports, or as a master when that is this node (or no quorum answers and it
    /// was the first master).
    /// </summary>
    public RedisServerProcess RestartNode(int index)
    {
        _nodes[index]!.Dispose();
        int port = _nodePorts[index];
        int? master = TryCurrentMasterPort(out int m) ? m : index == 0 ? port : _nodePorts[0];
        _nodes[index] = StartNode(index, master == port ? null : master, fixedPort: port);
        return _nodes[index]!;
    }

    /// <summary>A connected, authenticated client to data node <paramref name="index"/>.</summary>
    public RespTestClient ConnectNode(int index) => Connect(_nodePorts[index], Options.DataPassword);

    /// <summary>One command on data node <paramref name="index"/> (authenticated), bulk replies as text.</summary>
    public object? AskNode(int index, params string[] command) => Ask(_nodePorts[index], Options.DataPassword, command);

    /// <summary>"master" or "slave" (first element of ROLE), or null when the node does not answer.</summary>
    public string? RoleOf(int index) => TryAsk(_nodePorts[index], Options.DataPassword, ["ROLE"]) is object?[] { Length: > 0 } r ? r[0] as string : null;

    // ---- sentinels ----

    private SentinelProcess StartSentinel(int index)
    {
        for (int attempt = 0; ; attempt++)
        {
            int port = FreePort.Next();
            string conf = Path.Combine(Directory, $"sentinel-{index}.conf");
            File.WriteAllText(conf, SentinelConfig(port));
            try
            {
                return SentinelProcess.Start(port, conf);
            }
            catch (InvalidOperationException) when (attempt < 2) { }
        }
    }

    private string SentinelConfig(int port)
    {
        string name = Options.MasterName;
        var sb = new StringBuilder();
        sb.AppendLine($"port {port}");
        sb.AppendLine("bind 127.0.0.1");
        sb.AppendLine("daemonize no");
        sb.AppendLine("protected-mode no");
        sb.AppendLine($"dir {Quote(Directory)}");
        sb.AppendLine("logfile \"\"");
        sb.AppendLine("loglevel notice");
        sb.AppendLine($"sentinel monitor {name} 127.0.0.1 {_nodePorts[0]} {Quorum}");
        sb.AppendLine($"sentinel down-after-milliseconds {name} {Options.DownAfterMs}");
        sb.AppendLine($"sentinel failover-timeout {name} {Options.FailoverTimeoutMs}");
        sb.AppendLine($"sentinel parallel-syncs {name} 1");
        if (Options.DataPassword is { } dataPw) sb.AppendLine($"sentinel auth-pass {name} {Quote(dataPw)}");
        if (Options.SentinelPassword is { } sentinelPw)
        {
            sb.AppendLine($"requirepass {Quote(sentinelPw)}");
            sb.AppendLine($"sentinel sentinel-pass {Quote(sentinelPw)}");
        }
        return sb.ToString();
    }

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"") + "\"";

    public void KillSentinel(int index) => _sentinels[index]!.Kill();

    /// <summary>Starts sentinel <paramref name="index"/> again on the same port from its (rewritten) config file.</summary>
    public void RestartSentinel(int index) => _sentinels[index]!.Restart();

    /// <summary>A connected, authenticated client to sentinel <paramref name="index"/> (for PSUBSCRIBE and the like).</summary>
    public RespTestClient ConnectSentinel(int index) => Connect(_sentinels[index]!.Port, Options.SentinelPassword);

    /// <summary>One raw command on sentinel <paramref name="index"/> (authenticated), bulk replies as text.</summary>
    public object? AskSentinel(int index, params string[] command) => Ask(_sentinels[index]!.Port, Options.SentinelPassword, command);

    /// <summary>SENTINEL FAILOVER on one sentinel; throws on an error reply (INPROG, NOGOODSLAVE...).</summary>
    public void TriggerFailover(int sentinelIndex = 0)
    {
        var reply = AskSentinel(sentinelIndex, "SENTINEL", "FAILOVER", MasterName);
        if (reply is RespError e) throw new InvalidOperationException($"SENTINEL FAILOVER on sentinel {sentinelIndex}: {e.Message}");
    }

    /// <summary>The master port sentinel <paramref name="index"/> reports, or null (no answer, error, unknown).</summary>
    public int? MasterPortFrom(int index)
    {
        var s = _sentinels[index]!;
        if (!s.IsLive) return null;
        return TryAsk(s.Port, Options.SentinelPassword, ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MasterName]) is object?[] { Length: 2 } addr
               && int.TryParse(addr[1] as string, out int port) ? port : null;
    }

    /// <summary>The master port at least a quorum of sentinels report; throws when no quorum agrees.</summary>
    public int CurrentMasterPort()
    {
        if (TryCurrentMasterPort(out int port)) return port;
        var reports = Enumerable.Range(0, _sentinels.Length).Select(i => $"sentinel {i}: {MasterPortFrom(i)?.ToString() ?? "-"}");
        throw new InvalidOperationException($"no quorum ({Quorum}) of sentinels agrees on the master: {string.Join(", ", reports)}");
    }

    public bool TryCurrentMasterPort(out int port)
    {
        var votes = Enumerable.Range(0, _sentinels.Length).Select(MasterPortFrom).OfType<int>()
            .GroupBy(p => p).OrderByDescending(g => g.Count()).FirstOrDefault();
        port = votes?.Key ?? 0;
        return votes is not null && votes.Count() >= Quorum;
    }

    /// <summary>
    /// Waits until every live sentinel reports the same master, other than <paramref name="oldPort"/>, and that node
    /// answers ROLE master; returns its port.
    /// </summary>
    public async Task<int> WaitForMasterChangeAsync(int oldPort, TimeSpan timeout)
    {
        string last = "";
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var live = Enumerable.Range(0, _sentinels.Length).Where(i => _sentinels[i]!.IsLive).ToArray();
            var reports = live.Select(i => (i, port: MasterPortFrom(i))).ToArray();
            var distinct = reports.Select(r => r.port).Distinct().ToArray();
            if (live.Length > 0 && distinct is [int p] && p != oldPort && Array.IndexOf(_nodePorts, p) is int idx and >= 0 && RoleOf(idx) == "master")
                return p;
            last = string.Join(", ", reports.Select(r => $"sentinel {r.i}: {r.port?.ToString() ?? "-"}"));
            if (sw.Elapsed > timeout)
                throw new TimeoutException($"master still not moved off {oldPort} after {timeout.TotalSeconds:0.#} s ({last})");
            await Task.Delay(PollInterval);
        }
    }

    // ---- readiness ----

    private static async Task WaitUntilAsync(Func<List<string>> problems, TimeSpan timeout, string what)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var now = problems();
            if (now.Count == 0) return;
            if (sw.Elapsed > timeout)
                throw new TimeoutException($"{what} not ready after waiting {sw.Elapsed.TotalSeconds:0.0} s:\n  " + string.Join("\n  ", now));
            await Task.Delay(PollInterval * 2);
        }
    }

    /// <summary>
    /// Waits until the topology is whole again around whatever master a quorum reports (after a failover, a restart):
    /// every node answers and replicates from that master with its link up, every live sentinel reports that master,
    /// knows the other sentinels and lists every replica without s_down. Sentinels refresh a replica's INFO only every
    /// 10 s, so their per-replica role and link fields may still lag; those are not required here. Returns the master's port.
    /// Note: after SENTINEL FAILOVER the old master stays role:master until a sentinel converts it (~10 s, +convert-to-slave).
    /// </summary>
    public async Task<int> WaitUntilStableAsync(TimeSpan timeout)
    {
        int master = 0;
        await WaitUntilAsync(() => TryCurrentMasterPort(out master) ? Problems(NodeIndexOf(master), strict: false) : ["no quorum on a master"], timeout, "sentinel topology");
        return master;
    }

    private List<string> DataNodeProblems(int masterIndex)
    {
        var problems = new List<string>();
        for (int i = 0; i < _nodes.Length; i++)
        {
            if (TryAsk(_nodePorts[i], Options.DataPassword, ["PING"]) is not "PONG") { problems.Add($"node {i} (:{_nodePorts[i]}) does not answer PING"); continue; }
            if (i == masterIndex) continue;
            string info = TryAsk(_nodePorts[i], Options.DataPassword, ["INFO", "replication"]) as string ?? "";
            if (!info.Contains($"master_port:{_nodePorts[masterIndex]}\r\n", StringComparison.Ordinal))
                problems.Add($"node {i} (:{_nodePorts[i]}) is not a replica of :{_nodePorts[masterIndex]}");
            else if (!info.Contains("master_link_status:up", StringComparison.Ordinal))
                problems.Add($"replica {i} (:{_nodePorts[i]}) master_link_status is not up");
        }
        return problems;
    }

    /// <summary>What is not (yet) as it should be with node <paramref name="masterIndex"/> as master: nodes, replication links, every sentinel's view.</summary>
    private List<string> Problems(int masterIndex, bool strict)
    {
        var problems = DataNodeProblems(masterIndex);
        int master = _nodePorts[masterIndex];
        for (int i = 0; i < _sentinels.Length; i++)
        {
            var s = _sentinels[i]!;
            if (!s.IsLive)
            {
                if (strict) problems.Add($"sentinel {i} (:{s.Port}) is not running");
                continue;
            }
            if (TryAsk(s.Port, Options.SentinelPassword, ["PING"]) is not "PONG") { problems.Add($"sentinel {i} (:{s.Port}) does not answer PING"); continue; }
            if (MasterPortFrom(i) != master) problems.Add($"sentinel {i} reports master {MasterPortFrom(i)?.ToString() ?? "-"}, not {master}");
            int sentinels = CountEntries(TryAsk(s.Port, Options.SentinelPassword, ["SENTINEL", "SENTINELS", MasterName]), _ => true);
            if (sentinels != _sentinels.Length - 1) problems.Add($"sentinel {i} knows {sentinels} other sentinels, not {_sentinels.Length - 1}");
            var replicaReply = TryAsk(s.Port, Options.SentinelPassword, ["SENTINEL", "REPLICAS", MasterName]);
            int replicas = CountEntries(replicaReply, e => strict
                ? e.GetValueOrDefault("flags") == "slave" && e.GetValueOrDefault("master-link-status") == "ok"
                : !(e.GetValueOrDefault("flags") ?? "").Split(',').Any(f => f is "s_down" or "o_down" or "disconnected"));
            if (replicas != _nodes.Length - 1)
            {
                string seen = replicaReply is object?[] all
                    ? string.Join("; ", all.OfType<object?[]>().Select(ToMap).Select(e =>
                        $":{e.GetValueOrDefault("port")} flags={e.GetValueOrDefault("flags")} link={e.GetValueOrDefault("master-link-status")} master=:{e.GetValueOrDefault("master-port")} info-refresh={e.GetValueOrDefault("info-refresh")}ms"))
                    : "no answer";
                problems.Add($"sentinel {i} sees {replicas} healthy replicas, not {_nodes.Length - 1} ({seen})");
            }
        }
        return problems;
    }

    private static int CountEntries(object? reply, Func<Dictionary<string, string>, bool> predicate) =>
        reply is object?[] entries ? entries.OfType<object?[]>().Select(ToMap).Count(predicate) : -1;

    /// <summary>A flat RESP2 field/value array (as SENTINEL MASTERS / REPLICAS / SENTINELS return) as a dictionary.</summary>
    public static Dictionary<string, string> ToMap(object?[] flat)
    {
        var map = new Dictionary<string, string>();
        for (int i = 0; i + 1 < flat.Length; i += 2) map[flat[i] as string ?? ""] = flat[i + 1] as string ?? "";
        return map;
    }

    // ---- raw RESP ----

    private static RespTestClient Connect(int port, string? password)
    {
        var client = RespTestClient.ConnectTcp(port);
        try
        {
            client.ReadTimeoutMs = QueryTimeoutMs;
            if (password is not null && client.Call("AUTH", password) is RespError e)
                throw new InvalidOperationException($"AUTH on :{port} failed: {e.Message}");
            client.ReadTimeoutMs = 30_000;
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static object? Ask(int port, string? password, string[] command)
    {
        using var client = Connect(port, password);
        client.ReadTimeoutMs = QueryTimeoutMs;
        return client.CallText(command);
    }

    /// <summary>Like <see cref="Ask"/>, with null for a node that is down, frozen or closes the connection.</summary>
    private static object? TryAsk(int port, string? password, string[] command)
    {
        try { return Ask(port, password, command); }
        catch (Exception e) when (e is SocketException or IOException or InvalidOperationException) { return null; }
    }

    // ---- teardown ----

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var s in _sentinels) s?.Dispose();
        foreach (var n in _nodes) n?.Dispose();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }
}
