using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Memory;

namespace Rampart.Proxy.Tests.Memory;

public sealed class MemoryReclaimerTests
{
    private const long MB = 1024 * 1024;

    /// <summary>What the reclaimer reads of a process, and what a collection does to it.</summary>
    private sealed class Process
    {
        public long Resident = 60 * MB;
        public long Allocated;
        public long Relayed;
        public int Collections;
        public long ResidentAfterCollect = 60 * MB;

        public void Collect()
        {
            Collections++;
            Resident = ResidentAfterCollect;
        }
    }

    private readonly FakeTimeProvider _clock = new(); // moves only when the test says so
    private readonly Process _process = new();
    private readonly MemoryReclaimer _reclaimer;

    public MemoryReclaimerTests()
    {
        _reclaimer = new MemoryReclaimer(_clock);
        Assert.False(Look()); // the first look only takes readings
    }

    private bool Look(TimeSpan? after = null)
    {
        _clock.Advance(after ?? TimeSpan.FromSeconds(1));
        return _reclaimer.Sweep(() => _process.Resident, _ => _process.Allocated, () => _process.Relayed, _process.Collect);
    }

    [Fact]
    public void AfterABurst_CollectsOnceItIsQuiet_AndNotAgainUntilMoreIsAllocated()
    {
        _process.Resident = 300 * MB;
        _process.Allocated += 500 * MB;
        Assert.False(Look()); // still allocating
        _process.ResidentAfterCollect = 70 * MB;
        Assert.True(Look());
        Assert.Equal(1, _process.Collections);

        // 70 MB stays in use: looking again collects nothing, however long.
        for (int i = 0; i < 10; i++) Assert.False(Look());
        Assert.Equal(1, _process.Collections);
    }

    [Fact]
    public void ACollectionInAPauseOfTheBurst_DoesNotStopTheOneAfterIt()
    {
        // The burst pauses between a large SET and its GET: a collection then keeps what is live...
        _process.Resident = 500 * MB;
        _process.Allocated += 450 * MB;
        _process.ResidentAfterCollect = 480 * MB;
        Look();
        Assert.True(Look());
        // ...and what the rest of the burst leaves is collected once it is over, though the process is now smaller.
        _process.Allocated += 200 * MB;
        _process.Resident = 100 * MB;
        _process.ResidentAfterCollect = 62 * MB;
        Assert.False(Look());
        Assert.True(Look());
        Assert.Equal(62 * MB, _process.Resident);
    }

    [Fact]
    public void WithoutGrowth_OrWithoutAllocation_OrDuringSteadyAllocation_NothingIsCollected()
    {
        _process.Allocated += 100 * MB; // allocated, but the process did not grow: the GC kept up
        for (int i = 0; i < 5; i++) Assert.False(Look());

        _process.Resident += 200 * MB; // grew, but large values keep flowing: the GC's own budget is running
        for (int i = 0; i < 5; i++)
        {
            _process.Allocated += 100 * MB;
            Assert.False(Look());
        }
        Assert.True(Look()); // and once they stop, one collection
        Assert.Equal(1, _process.Collections);

        _process.Resident += 200 * MB; // grew with nothing allocated since the collection: nothing to collect
        for (int i = 0; i < 5; i++) Assert.False(Look());
        Assert.Equal(1, _process.Collections);
    }

    [Fact]
    public void ALargeValueStreamingThroughWithoutAllocating_IsNotQuiet()
    {
        _process.Resident = 300 * MB;
        _process.Allocated += 300 * MB;
        Look();
        for (int i = 0; i < 5; i++)
        {
            _process.Relayed += 200 * MB; // the rest of the burst moves through pooled buffers
            Assert.False(Look());
        }
        Assert.True(Look()); // over: the collection comes after it, and catches all it left
    }

    [Fact]
    public void LooksAtMostOncePerSecond()
    {
        _process.Resident = 500 * MB;
        _process.Allocated += 100 * MB;
        for (int i = 0; i < 50; i++) Assert.False(Look(TimeSpan.FromMilliseconds(10)));
        Assert.False(Look()); // the allocation is seen at this look: not quiet yet
        Assert.True(Look());
    }
}
