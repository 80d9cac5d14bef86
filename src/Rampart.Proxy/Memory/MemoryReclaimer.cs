using System.Runtime;
using Rampart.Protocol;

namespace Rampart.Proxy.Memory;

/// <summary>
/// Gives memory back to the system once a burst is over. The GC collects when allocation asks for it; after a burst
/// of large values or of connections, a proxy may allocate nothing big for hours, and the arrays and sessions the
/// burst left would stay committed all that time. The periodic sweep shows this class how much was let go (large
/// buffers dropped, client sessions closed); once that is enough to matter and nothing more has been let go for
/// <see cref="QuietPeriod"/>, it runs one blocking, compacting full collection. Waiting for quiet keeps forced
/// collections out of a steady stream of large values, where the GC's own budget already runs them.
/// </summary>
internal sealed class MemoryReclaimer(TimeProvider time)
{
    /// <summary>Large buffers dropped since the last collection that make one worth its pause.</summary>
    public const long ReleasedBytesThreshold = 32L * 1024 * 1024;
    /// <summary>Client sessions closed since the last collection that make one worth its pause.</summary>
    public const long ClosedSessionsThreshold = 1000;
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(1);

    private long _releasedAtCollect = ByteBuffer.LargeBytesReleased;
    private long _closedAtCollect = Clients.ClientSession.ClosedTotal;
    private long _lastReleased = -1;
    private long _lastClosed = -1;
    private long _quietSince;

    /// <summary>Collections this reclaimer ran (for tests and the log).</summary>
    public int Collections { get; private set; }

    /// <summary>Called by the sweep; true when it ran a collection.</summary>
    public bool Sweep() => Sweep(ByteBuffer.LargeBytesReleased, Clients.ClientSession.ClosedTotal, Collect);

    /// <summary>The decision, on counters given by the caller (tests); <paramref name="collect"/> runs the collection.</summary>
    internal bool Sweep(long releasedTotal, long closedTotal, Action collect)
    {
        long now = time.GetTimestamp();
        if (releasedTotal != _lastReleased || closedTotal != _lastClosed)
        {
            // Still letting go (or the first look): the burst is not over.
            _lastReleased = releasedTotal;
            _lastClosed = closedTotal;
            _quietSince = now;
            return false;
        }
        bool worthIt = releasedTotal - _releasedAtCollect >= ReleasedBytesThreshold
            || closedTotal - _closedAtCollect >= ClosedSessionsThreshold;
        if (!worthIt || time.GetElapsedTime(_quietSince, now) < QuietPeriod) return false;
        _releasedAtCollect = releasedTotal;
        _closedAtCollect = closedTotal;
        collect();
        Collections++;
        return true;
    }

    private static void Collect()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
