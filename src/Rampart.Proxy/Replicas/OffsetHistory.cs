namespace Rampart.Proxy.Replicas;

/// <summary>
/// A master's replication offsets as the replica checks saw them, with the time of each: turns a replica's offset
/// into how far behind it is in milliseconds (<c>max_replica_lag</c>). The data a replica lacks was written after the
/// last check at which the master's offset was at most the replica's; its age is at least the time since the first
/// check that saw more. Kept for a bounded span, so a replica further behind than that reads as "at least the span".
/// </summary>
internal sealed class OffsetHistory(long keepMs)
{
    private readonly Queue<(long AtMs, long Offset)> _points = new();

    /// <summary>Records the master's offset seen at <paramref name="nowMs"/>.</summary>
    public void Add(long nowMs, long offset)
    {
        // A smaller offset is a new replication history (a failover, a restarted master): the old points mean nothing.
        if (_points.Count > 0 && offset < LastOffset) _points.Clear();
        _points.Enqueue((nowMs, offset));
        while (_points.Count > 1 && _points.Peek().AtMs < nowMs - keepMs) _points.Dequeue();
    }

    public void Clear() => _points.Clear();

    private long LastOffset => _points.Count == 0 ? 0 : _points.Last().Offset;

    /// <summary>How many ms behind the master a replica at <paramref name="replicaOffset"/> is (0: it has everything seen).</summary>
    public long LagMs(long nowMs, long replicaOffset)
    {
        foreach (var (atMs, offset) in _points)
            if (offset > replicaOffset) return Math.Max(0, nowMs - atMs);
        return 0;
    }
}
