using System.Runtime;

namespace Rampart.Proxy.Memory;

/// <summary>
/// Gives memory back to the system once a burst is over. The GC collects when allocation asks for it; after a burst
/// (large values, a client that pipelined without reading, a flood of connections) a proxy may allocate almost nothing
/// for hours, and what the burst used would stay committed all that time. Once a second this class looks at what the
/// process allocated and how large it is; it runs one blocking, compacting, decommitting collection
/// (<see cref="Reclaim.Growth"/>) when
/// <list type="bullet">
/// <item>at least <see cref="AllocatedThreshold"/> was allocated since its last collection (there may be garbage),</item>
/// <item>less than <see cref="QuietAllocationBytes"/> allocated and <see cref="QuietTrafficBytes"/> relayed to and
/// from servers in the last second (the burst is over: steady traffic has the GC's own budget, and a collection in the
/// middle of a burst, a large value streaming through without allocating, would miss what the rest of it leaves), and</item>
/// <item>the process is larger than the smallest it has been by <see cref="GrowthThreshold"/> or an eighth (there is
/// something to give back).</item>
/// </list>
/// A burst of client connections is the other reason (<see cref="Reclaim.Connections"/>), looked at every
/// <see cref="ConnectionLookEvery"/>: accepting a client leaves garbage between the connection's long-lived objects,
/// and a closed one leaves its objects in the old generation; what the GC frees of either stays committed (about a
/// quarter of an idle connection's cost) until a decommitting collection, which thousands of connections do not
/// allocate enough to bring. So after at least <see cref="ConnectionBurst"/> connections opened or closed since the
/// last collection, once a look sees none, it runs the same collection. A young one (generation 1, compacting) is not
/// enough: it was measured to give nothing back, since the regions it frees stay committed, and to pause about as long
/// (25 against 30 ms with 20,000 connections held, docs/performance.md). A steady trickle of reconnecting clients costs
/// at most one per <see cref="ConnectionBurst"/> connections, and a storm whose clients retry their SYN after a full
/// accept queue one per pause of a second in it.
/// </summary>
internal sealed class MemoryReclaimer(TimeProvider time)
{
    public const long AllocatedThreshold = 32L * 1024 * 1024;
    public const long QuietAllocationBytes = 4L * 1024 * 1024;
    public const long QuietTrafficBytes = 16L * 1024 * 1024;
    public const long GrowthThreshold = 16L * 1024 * 1024;
    public const long ConnectionBurst = 1000;
    public static readonly TimeSpan LookEvery = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan ConnectionLookEvery = TimeSpan.FromMilliseconds(250);

    /// <summary>What a sweep collected for: nothing, the process's growth after a burst, or a burst of connections.</summary>
    public enum Reclaim { None, Growth, Connections }

    private long _lastLook;
    private long _lastAllocated = -1;
    private long _lastRelayed;
    private long _allocatedAtCollect;
    private long _smallest = long.MaxValue;
    private long _lastConnectionLook;
    private long _lastConnectionChanges;
    private long _changesSinceCollect;

    /// <summary>
    /// Called by the periodic sweep, with what reads the bytes relayed to and from servers so far (read only when it
    /// looks, once a second) and the client connections opened plus those closed so far; says what it collected.
    /// </summary>
    public Reclaim Sweep(Func<long> relayedBytes, Func<long> connectionChanges) =>
        Sweep(static () => Environment.WorkingSet, GC.GetTotalAllocatedBytes, relayedBytes, connectionChanges, Collect);

    /// <summary>The decision, on readings given by the caller (tests): resident bytes, bytes allocated, bytes relayed, connections; collect.</summary>
    internal Reclaim Sweep(Func<long> residentBytes, Func<bool, long> allocatedBytes, Func<long> relayedBytes,
        Func<long> connectionChanges, Action collect)
    {
        long now = time.GetTimestamp();
        bool first = _lastAllocated < 0;
        var reclaim = first || time.GetElapsedTime(_lastLook, now) >= LookEvery
            ? LookAtGrowth(now, first, residentBytes, allocatedBytes, relayedBytes)
            : Reclaim.None;
        if (reclaim == Reclaim.None && (first || time.GetElapsedTime(_lastConnectionLook, now) >= ConnectionLookEvery))
            reclaim = LookAtConnections(now, first, connectionChanges());
        if (reclaim == Reclaim.None) return reclaim;
        collect();
        _changesSinceCollect = 0;
        _allocatedAtCollect = _lastAllocated = allocatedBytes(false);
        return reclaim;
    }

    private Reclaim LookAtGrowth(long now, bool first, Func<long> residentBytes, Func<bool, long> allocatedBytes, Func<long> relayedBytes)
    {
        _lastLook = now;
        long allocated = allocatedBytes(false);
        long relayed = relayedBytes();
        if (first) _allocatedAtCollect = allocated;
        bool quiet = !first && allocated - _lastAllocated < QuietAllocationBytes
            && relayed - _lastRelayed < QuietTrafficBytes;
        _lastAllocated = allocated;
        _lastRelayed = relayed;
        long resident = residentBytes();
        _smallest = Math.Min(_smallest, resident);
        return !quiet || allocated - _allocatedAtCollect < AllocatedThreshold
            || resident - _smallest < Math.Max(GrowthThreshold, _smallest / 8)
            ? Reclaim.None
            : Reclaim.Growth;
    }

    private Reclaim LookAtConnections(long now, bool first, long changes)
    {
        _lastConnectionLook = now;
        // A pool removed by a reload takes its counts with it: the total may go down, which is no connection.
        long since = first ? 0 : Math.Max(0, changes - _lastConnectionChanges);
        _lastConnectionChanges = changes;
        _changesSinceCollect += since;
        return !first && since == 0 && _changesSinceCollect >= ConnectionBurst ? Reclaim.Connections : Reclaim.None;
    }

    private static void Collect()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
