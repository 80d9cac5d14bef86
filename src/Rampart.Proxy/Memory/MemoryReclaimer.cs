using System.Runtime;

namespace Rampart.Proxy.Memory;

/// <summary>
/// Gives memory back to the system once a burst is over. The GC collects when allocation asks for it; after a burst
/// (large values, a client that pipelined without reading, a flood of connections) a proxy may allocate almost nothing
/// for hours, and what the burst used would stay committed all that time. Once a second this class looks at what the
/// process allocated and how large it is; it runs one blocking, compacting, decommitting collection when
/// <list type="bullet">
/// <item>at least <see cref="AllocatedThreshold"/> was allocated since its last collection (there may be garbage),</item>
/// <item>less than <see cref="QuietAllocationBytes"/> allocated and <see cref="QuietTrafficBytes"/> relayed to and
/// from servers in the last second (the burst is over: steady traffic has the GC's own budget, and a collection in the
/// middle of a burst, a large value streaming through without allocating, would miss what the rest of it leaves), and</item>
/// <item>the process is larger than the smallest it has been by <see cref="GrowthThreshold"/> or an eighth (there is
/// something to give back).</item>
/// </list>
/// </summary>
internal sealed class MemoryReclaimer(TimeProvider time)
{
    public const long AllocatedThreshold = 32L * 1024 * 1024;
    public const long QuietAllocationBytes = 4L * 1024 * 1024;
    public const long QuietTrafficBytes = 16L * 1024 * 1024;
    public const long GrowthThreshold = 16L * 1024 * 1024;
    public static readonly TimeSpan LookEvery = TimeSpan.FromSeconds(1);

    private long _lastLook;
    private long _lastAllocated = -1;
    private long _lastRelayed;
    private long _allocatedAtCollect;
    private long _smallest = long.MaxValue;

    /// <summary>
    /// Called by the periodic sweep, with what reads the bytes relayed to and from servers so far (read only when it
    /// looks, once a second); true when it collected.
    /// </summary>
    public bool Sweep(Func<long> relayedBytes) => Sweep(static () => Environment.WorkingSet, GC.GetTotalAllocatedBytes, relayedBytes, Collect);

    /// <summary>The decision, on readings given by the caller (tests): resident bytes, bytes allocated, bytes relayed; collect.</summary>
    internal bool Sweep(Func<long> residentBytes, Func<bool, long> allocatedBytes, Func<long> relayedBytes, Action collect)
    {
        long now = time.GetTimestamp();
        bool first = _lastAllocated < 0;
        if (!first && time.GetElapsedTime(_lastLook, now) < LookEvery) return false;
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
        if (!quiet || allocated - _allocatedAtCollect < AllocatedThreshold
            || resident - _smallest < Math.Max(GrowthThreshold, _smallest / 8))
            return false;
        collect();
        _allocatedAtCollect = _lastAllocated = allocatedBytes(false);
        return true;
    }

    private static void Collect()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
