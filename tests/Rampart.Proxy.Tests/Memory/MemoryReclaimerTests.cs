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
        public long Connections; // opened plus closed
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

    private bool Look(TimeSpan? after = null) => Sweep(after ?? TimeSpan.FromSeconds(1)) != MemoryReclaimer.Reclaim.None;

    private MemoryReclaimer.Reclaim Sweep(TimeSpan after)
    {
        _clock.Advance(after);
        return _reclaimer.Sweep(() => _process.Resident, _ => _process.Allocated, () => _process.Relayed, () => _process.Connections,
            _process.Collect);
    }

    /// <summary>One look of the connections rule: the sweep's own period, a tenth of a second, until the rule's period has passed.</summary>
    private MemoryReclaimer.Reclaim LookAtConnections()
    {
        var result = MemoryReclaimer.Reclaim.None;
        for (var waited = TimeSpan.Zero; waited < MemoryReclaimer.ConnectionLookEvery; waited += TimeSpan.FromMilliseconds(100))
        {
            var swept = Sweep(TimeSpan.FromMilliseconds(100));
            if (swept != MemoryReclaimer.Reclaim.None) result = swept;
        }
        return result;
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

    [Fact]
    public void AfterAConnectionBurst_CollectsOnceItGoesQuiet_AndNotAgainWithoutMoreConnections()
    {
        // 5,000 clients connect: too little allocated for the growth rule, the holes they leave stay committed.
        _process.Connections += 5000;
        _process.Allocated += 10 * MB;
        Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections()); // still accepting
        Assert.Equal(MemoryReclaimer.Reclaim.Connections, LookAtConnections());
        Assert.Equal(1, _process.Collections);

        // The clients stay, idle: nothing more, however long.
        for (int i = 0; i < 20; i++) Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections());
        Assert.Equal(1, _process.Collections);
    }

    [Fact]
    public void ABurstInterruptedByPauses_IsCollectedAtEachPause_ThatFollowsEnoughConnections()
    {
        // A storm that overflows the accept queue: clients retry their SYN a second later, so accepting pauses.
        _process.Connections += 3000;
        Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections());
        Assert.Equal(MemoryReclaimer.Reclaim.Connections, LookAtConnections());
        _process.Connections += 1500;
        Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections());
        Assert.Equal(MemoryReclaimer.Reclaim.Connections, LookAtConnections());
        Assert.Equal(2, _process.Collections);
    }

    [Fact]
    public void FewConnections_OrConnectionsThatNeverPause_CollectNothing_UntilTheyPause()
    {
        _process.Connections += MemoryReclaimer.ConnectionBurst - 1;
        for (int i = 0; i < 5; i++) Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections());

        // Clients keep arriving at every look (a busy proxy's steady reconnects): its GC keeps up with them.
        for (int i = 0; i < 20; i++)
        {
            _process.Connections += 200;
            Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections());
        }
        Assert.Equal(MemoryReclaimer.Reclaim.Connections, LookAtConnections()); // and once they pause, one collection
        Assert.Equal(1, _process.Collections);
    }

    [Fact]
    public void APoolRemovedByAReload_TakingItsCountsWithIt_IsNoConnection()
    {
        _process.Connections += 500;
        LookAtConnections();
        _process.Connections -= 400; // the removed pool's connections leave the total
        for (int i = 0; i < 5; i++) Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections());
        _process.Connections += 600; // 500 + 600 opened or closed in all since the start
        Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections());
        Assert.Equal(MemoryReclaimer.Reclaim.Connections, LookAtConnections());
    }

    [Fact]
    public void ACollectionForGrowth_CountsForTheConnectionsBeforeIt()
    {
        // Clients connected and sent large values: the growth rule collects, and that collection had the accepts' holes too.
        _process.Connections += 2000;
        _process.Resident = 300 * MB;
        _process.Allocated += 500 * MB;
        Assert.False(Look());
        Assert.Equal(MemoryReclaimer.Reclaim.Growth, Sweep(TimeSpan.FromSeconds(1)));
        for (int i = 0; i < 10; i++) Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections());
        Assert.Equal(1, _process.Collections);
    }

    [Fact]
    public void ClientsLeavingTogether_AreABurstToo()
    {
        _process.Connections += 5000; // they connect: collected once that is over
        LookAtConnections();
        Assert.Equal(MemoryReclaimer.Reclaim.Connections, LookAtConnections());
        _process.Connections += 5000; // and close: their sessions are garbage in the old generation now
        Assert.Equal(MemoryReclaimer.Reclaim.None, LookAtConnections());
        Assert.Equal(MemoryReclaimer.Reclaim.Connections, LookAtConnections());
        Assert.Equal(2, _process.Collections);
    }
}
