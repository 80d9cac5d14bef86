namespace Rampart.Proxy.Backends;

/// <summary>
/// One replica a master's reads may go to: its endpoint (shared connections of its own), and what the last check
/// found. <see cref="ConfirmedGeneration"/> only grows (see <see cref="ReplicationClock"/>); the rest is for
/// <c>nearest</c> and the dashboard.
/// </summary>
internal sealed class ReplicaTarget(ServerEndpoint endpoint)
{
    private long _confirmed;
    private long _reads;

    public ServerEndpoint Endpoint { get; } = endpoint;

    /// <summary>The latest check generation whose master offset this replica had reached.</summary>
    public long ConfirmedGeneration => Volatile.Read(ref _confirmed);

    public void Confirm(long generation)
    {
        if (generation > Volatile.Read(ref _confirmed)) Volatile.Write(ref _confirmed, generation); // one writer: the tracker
    }

    /// <summary>Round-trip time of its last check, in microseconds (<c>nearest</c>).</summary>
    public long LatencyMicros { get; set; }

    /// <summary>How far behind its master it was at the last check, in ms.</summary>
    public long LagMs { get; set; }

    /// <summary>Why it gets no reads now, or null when it is eligible.</summary>
    public string? ExcludedBecause { get; set; }

    /// <summary>Reads routed to it.</summary>
    public long Reads => Volatile.Read(ref _reads);
    public void CountRead() => Interlocked.Increment(ref _reads);

    // Requests its failures left unanswered (sent elsewhere) are never counted as responses: the tracker takes the
    // difference as the new zero each time the replica becomes eligible again.
    private long _outstandingBase;

    /// <summary>Requests sent to it and not answered yet: the load that least-outstanding balancing compares.</summary>
    public long Outstanding => Endpoint.Stats.Requests - Endpoint.Stats.Responses - Volatile.Read(ref _outstandingBase);

    /// <summary>Called as it becomes eligible, with nothing in flight (its connections were dropped when it left).</summary>
    public void ResetOutstanding() => Volatile.Write(ref _outstandingBase, Endpoint.Stats.Requests - Endpoint.Stats.Responses);
}

/// <summary>
/// The replicas a master's reads may go to now, published whole on the master's endpoint by the replica tracker
/// (one volatile swap), so a read picks from one consistent set without locks.
/// </summary>
internal sealed class ReplicaReads(ReplicaTarget[] eligible, string noneReason, long masterLatencyMicros)
{
    public static readonly ReplicaReads NotChecked = new([], "replicas not checked yet", long.MaxValue);

    public ReplicaTarget[] Eligible { get; } = eligible;

    /// <summary>Why no replica is eligible (meaningful when <see cref="Eligible"/> is empty).</summary>
    public string NoneReason { get; } = noneReason;

    /// <summary>Round-trip time of the master's last check, in microseconds (<c>nearest</c>).</summary>
    public long MasterLatencyMicros { get; } = masterLatencyMicros;
}
