using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Clients;

/// <summary>
/// Read-your-writes for pools that read from replicas: which replicas may serve this client's reads, given its writes.
/// The dispatcher counts writes once they are queued; the reply writer, when it finds every queued reply written,
/// settles them: their replies have come, so each is inside the master offset of any replica check that starts from
/// now on (<see cref="ReplicationClock"/>). The counts are written in an order that lets the session's own thread read
/// them without a lock: settled writes are published after the generation that goes with them.
/// </summary>
internal sealed partial class ClientSession
{
    private long _writesQueued;   // written by the session's dispatching thread only
    private long _writesSettled;  // written by the reply writer only, after _readGeneration
    private long _readGeneration;
    private int _readRotation;

    /// <summary>A write (any command not read-only) was queued: reads go to the master until it is settled.</summary>
    public void NoteWriteQueued() => Volatile.Write(ref _writesQueued, _writesQueued + 1);

    /// <summary>
    /// The replica check generation a replica must have confirmed to serve this client's reads now: long.MaxValue while
    /// a write of the client is unanswered (no replica qualifies), 0 when it never wrote.
    /// </summary>
    public long ReadGenerationNeeded =>
        Volatile.Read(ref _writesSettled) == Volatile.Read(ref _writesQueued) ? Volatile.Read(ref _readGeneration) : long.MaxValue;

    /// <summary>Spreads reads over replicas with equal loads.</summary>
    public int NextReadRotation() => _readRotation++ & int.MaxValue;

    /// <summary>
    /// Called by the reply writer with nothing left in the queue: every write queued before the queue was seen empty
    /// has its reply (a write is counted after it was queued, so one counted is never missed by the empty check).
    /// </summary>
    private void SettleWrites(long queuedBeforeCheck)
    {
        if (queuedBeforeCheck == Volatile.Read(ref _writesSettled)) return;
        Volatile.Write(ref _readGeneration, ReplicationClock.Current + 1);
        Volatile.Write(ref _writesSettled, queuedBeforeCheck);
    }
}
