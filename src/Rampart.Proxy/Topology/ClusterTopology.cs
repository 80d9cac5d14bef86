using System.Net;
using Microsoft.Extensions.Logging;
using Rampart.Protocol;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Topology;

/// <summary>
/// Follows a Redis Cluster's slot map for a cluster pool. It asks several nodes (the masters it knows, then the seeds)
/// for <c>CLUSTER SHARDS</c> (<c>CLUSTER SLOTS</c> before Redis 7.0), trusts a map only from a node that answers ROLE
/// as master and CLUSTER INFO <c>cluster_state:ok</c> (a master cut off from the majority turns to fail), takes the map
/// most of them agree on, and hands it to the pool, which swaps its routing snapshot whole. It checks every
/// <c>refresh_interval</c>, and at once when asked: a MOVED, a lost connection, a node that failed.
/// </summary>
internal sealed partial class ClusterTopology : ITopologySource
{
    private static readonly TimeSpan QueryTimeout = TimeSpan.FromMilliseconds(1000);
    /// <summary>
    /// The wait between checks while no healthy master gives a map (a master failed and the cluster is electing its
    /// replica): short, since the slots of the failed master come back only once Rampart has seen the new map.
    /// </summary>
    internal const int UntrustedRecheckMs = 100;
    /// <summary>How many nodes each check asks at most (they answer in parallel).</summary>
    private const int NodesAsked = 3;

    private readonly PoolConfig _pool;
    private readonly ClusterConfig _cluster;
    private readonly Func<IReadOnlyList<(string Host, int Port)>> _knownMasters;
    private readonly Action<SlotMap> _publish;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly RecheckSignal _recheck;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private volatile string? _lastProblem;
    /// <summary>A master of the map in use did not answer the last check at all (it may be dead: its replica is next).</summary>
    private bool _masterUnreachable;

    /// <summary>Why the last check found no map to trust (each node asked and its answer), or null when it found one.</summary>
    public string? LastProblem => _lastProblem;

    /// <param name="knownMasters">The masters of the map in use now: asked first, before the seeds.</param>
    /// <param name="publish">Takes a trusted map (the pool swaps its routing snapshot).</param>
    public ClusterTopology(PoolConfig pool, Func<IReadOnlyList<(string Host, int Port)>> knownMasters, Action<SlotMap> publish,
        ILogger logger, TimeProvider time)
    {
        _pool = pool;
        _cluster = pool.Cluster!;
        _knownMasters = knownMasters;
        _publish = publish;
        _logger = logger;
        _time = time;
        _recheck = new RecheckSignal(time);
    }

    /// <summary>Asks for a check now (a MOVED, a lost connection); requests made during a check make one more check.</summary>
    public void Refresh() => _recheck.Request();

    public void Start() => _loop = CheckLoopAsync(_stop.Token);

    private async Task CheckLoopAsync(CancellationToken stop)
    {
        try
        {
            while (true)
            {
                bool trusted = await CheckOnceAsync(stop);
                // Without a trusted map, or with a master of the map not answering, look again soon: the cluster may
                // be electing a new master, and its slots come back only once Rampart has seen the new map.
                bool settled = trusted && !_masterUnreachable;
                int wait = settled ? _cluster.RefreshIntervalMs : Math.Min(_cluster.RefreshIntervalMs, UntrustedRecheckMs);
                await _recheck.WaitAsync(TimeSpan.FromMilliseconds(wait), stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>One check: ask, choose, publish. True when a trusted map was published.</summary>
    internal async Task<bool> CheckOnceAsync(CancellationToken stop)
    {
        var known = _knownMasters();
        var candidates = Candidates(known);
        var answers = await Task.WhenAll(candidates.Take(NodesAsked).Select(node => AskAsync(node, stop)));
        var trusted = answers.Where(a => a.Map is not null).ToList();
        _masterUnreachable = answers.Take(known.Count).Any(a => a.Unreachable); // the known masters come first
        if (trusted.Count == 0 && candidates.Count > NodesAsked)
        {
            // The nodes asked first are all down or not masters: try the rest before giving up.
            answers = await Task.WhenAll(candidates.Skip(NodesAsked).Select(node => AskAsync(node, stop)));
            trusted = answers.Where(a => a.Map is not null).ToList();
        }
        if (trusted.Count == 0)
        {
            string problem = string.Join("; ", answers.Select(a => $"{a.Node}: {a.Problem}"));
            if (problem != _lastProblem) LogNoTrustedMap(_pool.Name, problem);
            _lastProblem = problem;
            return false;
        }
        _lastProblem = null;
        _publish(MostAgreed(trusted.Select(a => a.Map!)));
        return true;
    }

    /// <summary>The known masters first (they have the newest map), then the seeds, each once.</summary>
    private List<(string Host, int Port)> Candidates(IReadOnlyList<(string Host, int Port)> known)
    {
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var list = new List<(string Host, int Port)>();
        foreach (var node in known.Concat(_cluster.Nodes.Select(n => (n.Host, n.Port))))
            if (seen.Add($"{node.Host}:{node.Port}")) list.Add(node);
        return list;
    }

    /// <summary>The map most nodes gave (the same owner for every slot); on a tie, the first node's.</summary>
    private static SlotMap MostAgreed(IEnumerable<SlotMap> maps) =>
        maps.GroupBy(m => m.Fingerprint).OrderByDescending(g => g.Count()).First().First();

    /// <param name="Unreachable">No connection or no answer at all (as opposed to an answer not trusted).</param>
    private sealed record Answer(string Node, SlotMap? Map, string? Problem, bool Unreachable = false);

    /// <summary>One node's map, when the node is a healthy master; else why its answer is not trusted.</summary>
    private async Task<Answer> AskAsync((string Host, int Port) node, CancellationToken stop)
    {
        string label = node.Host.Contains(':') ? $"[{node.Host}]:{node.Port}" : $"{node.Host}:{node.Port}";
        try
        {
            using var connection = await ControlConnection.ConnectAsync(Endpoint(node.Host, node.Port), _cluster.Password, QueryTimeout, _time,
                stop, _cluster.User, Security.ServerTlsContext.For(_pool.ServerTls));
            var role = await connection.CallAsync(stop, "ROLE");
            if (role.IsError || role.Items.Count == 0 || role.Items[0].Text != "master")
                return new Answer(label, null, $"answers ROLE {(role.IsError ? role.Text : role.Items.FirstOrDefault()?.Text)}, not master");
            var info = await connection.CallAsync(stop, "CLUSTER", "INFO");
            if (info.IsError) return new Answer(label, null, $"answers CLUSTER INFO with {info.Text}");
            if (info.Text is not { } text || !text.Contains("cluster_state:ok", StringComparison.Ordinal))
                return new Answer(label, null, "reports cluster_state:fail");
            var shards = await connection.CallAsync(stop, "CLUSTER", "SHARDS");
            if (!shards.IsError) return new Answer(label, SlotMap.FromClusterShards(shards, node.Host), null);
            // Before Redis 7.0 (no CLUSTER SHARDS): the same map from CLUSTER SLOTS.
            var slots = await connection.CallAsync(stop, "CLUSTER", "SLOTS");
            return new Answer(label, SlotMap.FromClusterSlots(slots), null);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or FormatException
                                   or RespProtocolException)
        {
            if (stop.IsCancellationRequested) throw;
            return new Answer(label, null, e is OperationCanceledException ? "no answer within 1 s" : e.Message, Unreachable: true);
        }
    }

    private static EndPoint Endpoint(string host, int port) =>
        IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pool {Pool}: no healthy cluster master gave a slot map ({Problems}); keeping the map in use")]
    private partial void LogNoTrustedMap(string pool, string problems);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        if (_loop is not null) await _loop;
        _stop.Dispose();
    }
}
