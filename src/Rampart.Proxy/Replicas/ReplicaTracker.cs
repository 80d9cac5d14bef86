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

    private readonly ShardReplicas[] _shards;
    private readonly RoleProbe _probe;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _pool;
    private readonly CancellationTokenSource _stop = new();
    private Task _run = Task.CompletedTask;

    public ReplicaTracker(PoolConfig pool, IReadOnlyList<ServerEndpoint> masters, Func<ServerConfig, ServerEndpoint, ServerEndpoint> newReplica,
        ILogger logger, Observability.TopologyEventLog events, TimeProvider time)
    {
        _time = time;
        _logger = logger;
        _pool = pool.Name;
        _probe = new RoleProbe(pool.RedisAuth, time);
        _shards = masters.Select(m => new ShardReplicas(pool, m, r => newReplica(r, m), _probe, logger, events, time)).ToArray();
    }

    /// <summary>Each master with its replicas, for the sweep, the dashboard and metrics.</summary>
    public IReadOnlyList<ShardReplicas> Shards => _shards;

    public void Start() => _run = RunAsync(_stop.Token);

    private async Task RunAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.WhenAll(_shards.Select(s => s.CheckAsync(stop)));
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
        foreach (var shard in _shards)
        {
            shard.Master.ReadReplicas = ReplicaReads.NotChecked;
            foreach (var replica in shard.Replicas) replica.Endpoint.Retire("reads from replicas stopped (configuration changed or proxy stopping)");
        }
        _probe.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Pool {Pool}: replica check failed; checking again")]
    private partial void LogCheckFault(Exception exception, string pool);
}
