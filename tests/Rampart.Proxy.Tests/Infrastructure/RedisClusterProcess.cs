namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster of three masters (no replicas) on free loopback ports, made from redis-server itself: each node
/// started with cluster mode on and its own nodes file, the 16384 slots split in three ranges with CLUSTER
/// ADDSLOTSRANGE, the nodes introduced with CLUSTER MEET, ready once every node says cluster_state:ok. Disposing stops
/// every node by PID and deletes the nodes files.
/// </summary>
public sealed class RedisClusterProcess : IDisposable
{
    private readonly List<string> _nodeFiles = [];

    public IReadOnlyList<RedisServerProcess> Nodes { get; }

    private RedisClusterProcess(List<RedisServerProcess> nodes, List<string> files)
    {
        Nodes = nodes;
        _nodeFiles = files;
    }

    public static RedisClusterProcess Start()
    {
        var nodes = new List<RedisServerProcess>();
        var files = new List<string>();
        var cluster = new RedisClusterProcess(nodes, files);
        try
        {
            int[][] ranges = [[0, 5460], [5461, 10922], [10923, 16383]];
            foreach (var range in ranges)
            {
                string file = Path.Combine(Path.GetTempPath(), $"rampart-nodes-{Guid.NewGuid():N}.conf");
                files.Add(file);
                var node = RedisServerProcess.Start("--cluster-enabled", "yes", "--cluster-config-file", file,
                    "--cluster-node-timeout", "2000");
                nodes.Add(node);
                Expect(node, "+OK", "CLUSTER", "ADDSLOTSRANGE", range[0].ToString(), range[1].ToString());
            }
            foreach (var node in nodes.Skip(1)) Expect(nodes[0], "+OK", "CLUSTER", "MEET", "127.0.0.1", node.Port.ToString());
            if (!Poll.WaitUntil(() => nodes.All(n => n.Send(RespText.Command("CLUSTER", "INFO")).Contains("cluster_state:ok")), TimeSpan.FromSeconds(30)))
                throw new InvalidOperationException("the cluster did not reach cluster_state:ok within 30 s");
            return cluster;
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    private static void Expect(RedisServerProcess node, string reply, params string[] command)
    {
        string got = node.Send(RespText.Command(command));
        if (!got.StartsWith(reply, StringComparison.Ordinal))
            throw new InvalidOperationException($"{string.Join(' ', command)} on {node.Endpoint} answered {got.Trim()}");
    }

    public void Dispose()
    {
        foreach (var node in Nodes) node.Dispose();
        foreach (var file in _nodeFiles) File.Delete(file);
    }
}
