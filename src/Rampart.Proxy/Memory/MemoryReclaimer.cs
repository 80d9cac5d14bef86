using System.Runtime;

namespace Rampart.Proxy.Memory;

/// <summary>
/// Gives memory back to the system once a burst is over. The GC collects when allocation asks for it; after a burst
/// (large values, a client that pipelined without reading, a flood of connections) a proxy may allocate almost nothing
/// for hours, and what the burst used would stay committed all that time. Once a second this class compares the
/// process's resident size with the lowest it has seen since its last collection: when it has grown by
/// <see cref="GrowthThreshold"/> (or a quarter, for a large process) and the process allocated little over the last
/// second (the burst is over), it runs one blocking, compacting, decommitting collection. Waiting for quiet keeps forced
/// collections out of steady traffic, where the GC's own budget already runs them; memory that is still in use after a
/// collection becomes the new floor, so it is not collected for again.
/// </summary>
internal sealed class MemoryReclaimer(TimeProvider time)
{
    public const long GrowthThreshold = 32L * 1024 * 1024;
    /// <summary>Allocation over one look that still counts as quiet.</summary>
    public const long QuietAllocationBytes = 16L * 1024 * 1024;
    public static readonly TimeSpan LookEvery = TimeSpan.FromSeconds(1);

    private long _lastLook;
    private long _lastAllocated = -1;
    private long _floor = long.MaxValue;

    /// <summary>Collections this reclaimer ran.</summary>
    public int Collections { get; private set; }

    /// <summary>Called by the periodic sweep; true when it ran a collection.</summary>
    public bool Sweep() => Sweep(static () => Environment.WorkingSet, GC.GetTotalAllocatedBytes, Collect);

    /// <summary>The decision, on readings given by the caller (tests): resident bytes, bytes allocated so far, collect.</summary>
    internal bool Sweep(Func<long> residentBytes, Func<bool, long> allocatedBytes, Action collect)
    {
        long now = time.GetTimestamp();
        if (_lastAllocated >= 0 && time.GetElapsedTime(_lastLook, now) < LookEvery) return false;
        _lastLook = now;
        long allocated = allocatedBytes(false);
        bool quiet = _lastAllocated >= 0 && allocated - _lastAllocated < QuietAllocationBytes;
        _lastAllocated = allocated;
        long resident = residentBytes();
        _floor = Math.Min(_floor, resident);
        if (!quiet || resident - _floor < Math.Max(GrowthThreshold, _floor / 4)) return false;
        collect();
        Collections++;
        // What is still resident is in use (or held by the runtime): the floor to grow from before collecting again.
        _floor = residentBytes();
        _lastAllocated = allocatedBytes(false);
        return true;
    }

    private static void Collect()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
    }
}
