namespace Rampart.Proxy.Observability;

/// <summary>One change in what Rampart routes to: a master confirmed or lost, a failover held or aborted, an ejection.</summary>
public sealed record TopologyEvent(DateTimeOffset Time, string Pool, string Kind, string? Server, string Message);

/// <summary>
/// The last <see cref="Capacity"/> topology events, newest last, for the admin API and dashboard. Bounded, so a
/// flapping server cannot grow it; written only on topology changes (never on the request path), hence the lock.
/// </summary>
public sealed class TopologyEventLog
{
    public const int Capacity = 256;
    private readonly Queue<TopologyEvent> _events = new();
    private long _total;

    /// <summary>Events recorded since start, including those the ring has dropped.</summary>
    public long Total => Interlocked.Read(ref _total);

    public void Add(string pool, string kind, string? server, string message)
    {
        var entry = new TopologyEvent(DateTimeOffset.UtcNow, pool, kind, server, message);
        lock (_events)
        {
            if (_events.Count == Capacity) _events.Dequeue();
            _events.Enqueue(entry);
        }
        Interlocked.Increment(ref _total);
    }

    /// <summary>The events kept, oldest first.</summary>
    public TopologyEvent[] Snapshot()
    {
        lock (_events) return _events.ToArray();
    }
}
