using System.Diagnostics;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster on free loopback ports, made from redis-server itself, in one of two shapes:
/// <list type="bullet">
/// <item><see cref="Start"/>: three masters and no replicas, the 16384 slots split in three ranges with CLUSTER
/// ADDSLOTSRANGE and the nodes introduced with CLUSTER MEET (the quick shape for routing tests).</item>
/// <item><see cref="StartWithReplicas"/>: masters and replicas made by <c>redis-cli --cluster create
/// --cluster-replicas</c>, as operators make them, with a 1 s node timeout so failovers take about two seconds; it is
/// ready once every node says cluster_state:ok, knows every other node, and every replica's link to its master is up.
/// Nodes can then be killed, frozen, failed over by hand and have slots resharded between them.</item>
/// </list>
/// Every node runs in one temp directory (its nodes file, any RDB a replica sync writes); disposing stops every node by
/// PID and deletes the directory. The bench (bench/cluster-bench) links this file, so it stays free of xunit.
/// </summary>
public sealed class RedisClusterProcess : IDisposable
{
    private const int SlotCount = 16384;
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    private readonly string _dir;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> _killed = new(); // ports killed by Kill

    /// <summary>Every node, in start order: for <see cref="StartWithReplicas"/> the first ones started as masters.</summary>
    public IReadOnlyList<RedisServerProcess> Nodes { get; }

    /// <summary>Every node with its cluster id; roles are read live (they change with failovers).</summary>
    public IReadOnlyList<ClusterNode> ClusterNodes { get; private set; } = [];

    private RedisClusterProcess(List<RedisServerProcess> nodes, string dir)
    {
        Nodes = nodes;
        _dir = dir;
    }

    /// <summary>The temp directory the nodes run in (removed on dispose).</summary>
    public string Directory => _dir;

    /// <summary>Three masters, no replicas (CLUSTER ADDSLOTSRANGE + MEET), ready at cluster_state:ok.</summary>
    public static RedisClusterProcess Start() => Build(cluster =>
    {
        int[][] ranges = [[0, 5460], [5461, 10922], [10923, 16383]];
        foreach (var range in ranges)
        {
            var node = cluster.StartNode("2000");
            Expect(node, "+OK", "CLUSTER", "ADDSLOTSRANGE", range[0].ToString(), range[1].ToString());
        }
        foreach (var node in cluster.Nodes.Skip(1)) Expect(cluster.Nodes[0], "+OK", "CLUSTER", "MEET", "127.0.0.1", node.Port.ToString());
        cluster.WaitUntilReady();
    });

    /// <summary>
    /// <paramref name="masters"/> masters with <paramref name="replicasPerMaster"/> replicas each, made by
    /// <c>redis-cli --cluster create ... --cluster-replicas N --cluster-yes</c>; ready when every node is at
    /// cluster_state:ok and knows them all, and every replica reports master_link_status:up.
    /// </summary>
    public static RedisClusterProcess StartWithReplicas(int masters = 3, int replicasPerMaster = 1) => Build(cluster =>
    {
        for (int i = 0; i < masters * (1 + replicasPerMaster); i++) cluster.StartNode("1000");
        var result = RedisCli(["--cluster", "create", .. cluster.Nodes.Select(n => n.Endpoint),
            "--cluster-replicas", replicasPerMaster.ToString(), "--cluster-yes"], TimeSpan.FromSeconds(60));
        if (result.ExitCode != 0) throw new InvalidOperationException($"redis-cli --cluster create failed: {result}");
        cluster.WaitUntilReady();
    });

    private static RedisClusterProcess Build(Action<RedisClusterProcess> setUp)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"rampart-cluster-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(dir);
        var cluster = new RedisClusterProcess([], dir);
        try
        {
            setUp(cluster);
            cluster.ClusterNodes = cluster.Nodes.Select(n => new ClusterNode(n, Call(n, "CLUSTER", "MYID") as string ?? "")).ToList();
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    private RedisServerProcess StartNode(string nodeTimeoutMs)
    {
        // Replicas sync at once (the diskless default waits 5 s for more replicas to join the same transfer).
        var node = RedisServerProcess.Start("--cluster-enabled", "yes", "--dir", _dir,
            "--cluster-config-file", $"nodes-{Guid.NewGuid():N}.conf", "--cluster-node-timeout", nodeTimeoutMs,
            "--repl-diskless-sync-delay", "0");
        ((List<RedisServerProcess>)Nodes).Add(node);
        return node;
    }

    private void WaitUntilReady()
    {
        if (!Poll.WaitUntil(IsReady, ReadyTimeout))
            throw new InvalidOperationException($"the cluster was not ready within {ReadyTimeout.TotalSeconds} s:\n" +
                string.Join("\n", Nodes.Select(n => $"{n.Endpoint}: {Call(n, "CLUSTER", "INFO")}")));
    }

    /// <summary>Every node (of those alive) at cluster_state:ok knowing every node, every replica's master link up.</summary>
    public bool IsReady() => LiveNodes().All(n =>
    {
        string info = Call(n, "CLUSTER", "INFO") as string ?? "";
        if (!info.Contains("cluster_state:ok") || !info.Contains($"cluster_known_nodes:{Nodes.Count}\r")) return false;
        string replication = Call(n, "INFO", "replication") as string ?? "";
        return replication.Contains("role:master") || replication.Contains("master_link_status:up");
    });

    /// <summary>The nodes not killed by the test.</summary>
    public IEnumerable<RedisServerProcess> LiveNodes() => Nodes.Where(n => !_killed.ContainsKey(n.Port));

    /// <summary>The nodes that say ROLE master now (a killed node is left out).</summary>
    public IReadOnlyList<ClusterNode> Masters => ClusterNodes.Where(n => !_killed.ContainsKey(n.Port) && n.Role == "master").ToList();

    /// <summary>The nodes that say ROLE slave now.</summary>
    public IReadOnlyList<ClusterNode> Replicas => ClusterNodes.Where(n => !_killed.ContainsKey(n.Port) && n.Role == "slave").ToList();

    /// <summary>The replicas whose master is <paramref name="master"/> (by CLUSTER NODES as <paramref name="master"/> sees it).</summary>
    public IReadOnlyList<ClusterNode> ReplicasOf(ClusterNode master) =>
        ClusterNodes.Where(n => !_killed.ContainsKey(n.Port) && n.MasterPort == master.Port).ToList();

    /// <summary>kill -9 by PID; the node stays counted in the cluster (its peers mark it failed).</summary>
    public void Kill(ClusterNode node)
    {
        _killed[node.Port] = true;
        node.Server.Kill();
    }

    /// <summary>SIGSTOP: the node keeps its sockets but answers nothing, as a hung node.</summary>
    public void Freeze(ClusterNode node) => node.Server.Freeze();

    /// <summary>SIGCONT after <see cref="Freeze"/>.</summary>
    public void Thaw(ClusterNode node) => node.Server.Thaw();

    /// <summary>
    /// CLUSTER FAILOVER on <paramref name="replica"/>, then waits until it says ROLE master; returns the time from the
    /// command to that (the cluster's own switch time, polled every 2 ms).
    /// </summary>
    public TimeSpan Failover(ClusterNode replica, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        Expect(replica.Server, "+OK", "CLUSTER", "FAILOVER");
        if (!WaitForRole(replica, "master", timeout ?? TimeSpan.FromSeconds(15)))
            throw new TimeoutException($"{replica.Server.Endpoint} did not become master after CLUSTER FAILOVER");
        return clock.Elapsed;
    }

    /// <summary>
    /// Polls ROLE every 2 ms until <paramref name="node"/> says <paramref name="role"/> (true, at once: callers read
    /// their clock right after), or <paramref name="timeout"/> passes (false).
    /// </summary>
    public static bool WaitForRole(ClusterNode node, string role, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            try
            {
                if (node.Role == role) return true;
            }
            catch (IOException) { }
            catch (System.Net.Sockets.SocketException) { }
            Thread.Sleep(2);
        }
        return false;
    }

    /// <summary>
    /// Moves <paramref name="slots"/> slots from one master to another with <c>redis-cli --cluster reshard</c> (keys
    /// migrated by MIGRATE, as operators do it). Retried a few times while the nodes do not yet agree on the
    /// configuration (gossip after a previous reshard or failover takes a moment).
    /// </summary>
    public async Task<ProgramResult> ReshardAsync(ClusterNode from, ClusterNode to, int slots, TimeSpan? timeout = null)
    {
        ProgramResult result = new(-1, "", "not run");
        for (int attempt = 0; attempt < 20; attempt++)
        {
            result = await ExternalProgram.RunAsync("redis-cli", ["--cluster", "reshard", from.Server.Endpoint,
                "--cluster-from", from.Id, "--cluster-to", to.Id, "--cluster-slots", slots.ToString(), "--cluster-yes"],
                timeout: timeout ?? TimeSpan.FromMinutes(5));
            if (result.ExitCode == 0 && !result.Stdout.Contains("[ERR]")) return result;
            if (!result.Stdout.Contains("agree")) break;
            await Task.Delay(250);
        }
        throw new InvalidOperationException($"reshard of {slots} slots from {from.Port} to {to.Port} failed: {result}");
    }

    /// <summary>For every slot, the port of the master serving it (0 if none), from CLUSTER SLOTS asked of <paramref name="node"/>.</summary>
    public static int[] SlotOwners(ClusterNode node)
    {
        var owners = new int[SlotCount];
        foreach (var item in (object?[])Call(node.Server, "CLUSTER", "SLOTS")!)
        {
            var range = (object?[])item!;
            int port = (int)(long)((object?[])range[2]!)[1]!;
            for (long slot = (long)range[0]!; slot <= (long)range[1]!; slot++) owners[slot] = port;
        }
        return owners;
    }

    private static ProgramResult RedisCli(string[] args, TimeSpan timeout) =>
        ExternalProgram.RunAsync("redis-cli", args, timeout: timeout).GetAwaiter().GetResult();

    /// <summary>One command on a new connection, its reply parsed (bulk strings as text).</summary>
    internal static object? Call(RedisServerProcess node, params string[] command)
    {
        using var client = RespTestClient.ConnectTcp(node.Port);
        client.ReadTimeoutMs = 5000;
        return client.CallText(command);
    }

    private static void Expect(RedisServerProcess node, string reply, params string[] command)
    {
        string got = node.Send(RespText.Command(command));
        if (!got.StartsWith(reply, StringComparison.Ordinal))
            throw new InvalidOperationException($"{string.Join(' ', command)} on {node.Endpoint} answered {got.Trim()}");
    }

    public void Dispose()
    {
        foreach (var node in Nodes)
        {
            node.Thaw(); // a frozen node dies on SIGKILL too, but its sockets close sooner awake
            node.Dispose();
        }
        try { System.IO.Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}

/// <summary>One node of a <see cref="RedisClusterProcess"/>: its process, port, PID and cluster id; its role asked live.</summary>
public sealed class ClusterNode(RedisServerProcess server, string id)
{
    public RedisServerProcess Server { get; } = server;
    public string Id { get; } = id;
    public int Port => Server.Port;
    public int Pid => Server.Pid;
    public string Endpoint => Server.Endpoint;

    /// <summary>"master" or "slave", from ROLE now.</summary>
    public string Role => ((object?[])RedisClusterProcess.Call(Server, "ROLE")!)[0] as string ?? "";

    /// <summary>For a replica, the port of its master (from ROLE); 0 for a master.</summary>
    public int MasterPort => RedisClusterProcess.Call(Server, "ROLE") is object?[] { Length: > 2 } role && role[0] as string == "slave"
        ? (int)(long)role[2]! : 0;

    public override string ToString() => $"{Endpoint} ({Id[..8]})";
}
