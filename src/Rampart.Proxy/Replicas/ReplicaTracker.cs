using Microsoft.Extensions.Logging;
using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Replicas;

/// <summary>
/// Checks the replicas of every master of a pool with <c>read_from</c>, every <see cref="IntervalMs"/>: one ROLE to
/// the master (its replication offset, and its replicas in a Sentinel pool) and one to each replica (its link and
/// offset), over kept connections. Each check publishes the master's eligible replicas (<see cref="ShardReplicas"/>)
/// and confirms, for read-your-writes, the replicas that have everything the master had when the check began.
/// A check's cost is a few small round trips per master, off the request path.
/// </summary>
internal sealed partial class ReplicaTracker : IAsyncDisposable
{
    /// <summary>Between checks: a dead or stopped replica is out within this plus <see cref="RoleProbe.Timeout"/>.</summary>
    public const int IntervalMs = 100;

    // One per master, by endpoint: a cluster's masters change with its slot map, a Sentinel pool's endpoints stay.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ServerEndpoint, ShardReplicas> _shards = new(ReferenceEqualityComparer.Instance);
    private readonly Func<IReadOnlyList<ServerEndpoint>> _masters;
    private readonly Func<ServerEndpoint, ShardReplicas> _newShard;
    private readonly RoleProbe _probe;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _pool;
    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;

    /// <param name="masters">The pool's masters now (read at every check: a cluster's change with its slot map).</param>
    public ReplicaTracker(PoolConfig pool, Func<IReadOnlyList<ServerEndpoint>> masters, Func<ServerConfig, ServerEndpoint, ServerEndpoint> newReplica,
        ILogger logger, Observability.TopologyEventLog events, TimeProvider time)
    {
        _time = time;
        _logger = logger;
        _pool = pool.Name;
        _masters = masters;
        _probe = pool.Cluster is { } cluster ? new RoleProbe(cluster.User, cluster.Password, time, Security.ServerTlsContext.For(pool.ServerTls))
            : new RoleProbe(null, pool.RedisAuth, time, Security.ServerTlsContext.For(pool.ServerTls));
        _newShard = m => new ShardReplicas(pool, m, r => newReplica(r, m), _probe, logger, events, time);
        FollowMasters();
    }

    /// <summary>Each master with its replicas, for the sweep, the dashboard and metrics.</summary>
    public ICollection<ShardReplicas> Shards => _shards.Values;

    /// <summary>Adds the masters that appeared; a master that left (a cluster's failover) takes its replicas with it.</summary>
    private void FollowMasters()
    {
        var current = _masters();
        foreach (var master in current) _shards.GetOrAdd(master, _newShard);
        foreach (var (master, shard) in _shards)
        {
            if (current.Contains(master)) continue;
            _shards.TryRemove(master, out _);
            Retire(shard);
        }
    }

    private static void Retire(ShardReplicas shard)
    {
        shard.Master.ReadReplicas = ReplicaReads.NotChecked;
        foreach (var replica in shard.Replicas) replica.Endpoint.Retire("reads from replicas stopped (its master left, the configuration changed, or the proxy is stopping)");
    }

    public void Start() => _run = RunAsync(_stop.Token);

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                FollowMasters();
                await Task.WhenAll(_shards.Values.Select(s => s.CheckAsync(stop)));
                await Task.Delay(TimeSpan.FromMilliseconds(IntervalMs), _time, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // A fault in a check must not end the checks (replicas would keep their last state for good).
                LogCheckFault(e, _pool);
                await Task.Delay(TimeSpan.FromMilliseconds(IntervalMs), _time, CancellationToken.None);
            }
        }
    }

    /// <summary>Stops checking: the masters read from themselves again, and the replicas' connections close.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try { await _run; } catch (OperationCanceledException) { }
        foreach (var shard in _shards.Values) Retire(shard);
        _probe.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Pool {Pool}: replica check failed; checking again")]
    private partial void LogCheckFault(Exception exception, string pool);
}
