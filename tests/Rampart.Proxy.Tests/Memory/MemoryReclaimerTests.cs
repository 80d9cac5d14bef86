using Rampart.Proxy.Memory;

namespace Rampart.Proxy.Tests.Memory;

public sealed class MemoryReclaimerTests
{
    private const long MB = 1024 * 1024;

    /// <summary>A clock that moves only when the test says so.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private long _ticks = 1;
        public override long TimestampFrequency => TimeSpan.TicksPerSecond;
        public override long GetTimestamp() => _ticks;
        public void Advance(TimeSpan by) => _ticks += by.Ticks;
    }

    private sealed class Process
    {
        public long Resident = 60 * MB;
        public long Allocated;
        public int Collections;
        public long ResidentAfterCollect = 60 * MB;
        public void Collect()
        {
            Collections++;
            Resident = ResidentAfterCollect;
        }
    }

    private static bool Look(MemoryReclaimer reclaimer, ManualClock clock, Process process)
    {
        clock.Advance(TimeSpan.FromSeconds(1));
        return reclaimer.Sweep(() => process.Resident, _ => process.Allocated, process.Collect);
    }

    [Fact]
    public void AfterABurst_CollectsOnceItIsQuiet_AndNotAgainForWhatStaysInUse()
    {
        var clock = new ManualClock();
        var process = new Process();
        var reclaimer = new MemoryReclaimer(clock);
        Assert.False(Look(reclaimer, clock, process)); // first look: the floor

        // The burst: resident grows while much is allocated.
        process.Resident = 300 * MB;
        process.Allocated += 500 * MB;
        Assert.False(Look(reclaimer, clock, process));
        Assert.Equal(0, process.Collections);

        // Quiet: one collection.
        process.ResidentAfterCollect = 70 * MB;
        Assert.True(Look(reclaimer, clock, process));
        Assert.Equal(1, process.Collections);

        // 70 MB is what stays in use: no collection for it, however long it stays.
        for (int i = 0; i < 10; i++) Assert.False(Look(reclaimer, clock, process));
        Assert.Equal(1, process.Collections);
    }

    [Fact]
    public void SmallGrowth_OrSteadyAllocation_DoesNotCollect()
    {
        var clock = new ManualClock();
        var process = new Process();
        var reclaimer = new MemoryReclaimer(clock);
        Look(reclaimer, clock, process);

        process.Resident += 20 * MB; // under the threshold
        for (int i = 0; i < 5; i++) Assert.False(Look(reclaimer, clock, process));

        process.Resident += 200 * MB; // grown, but large values keep flowing: the GC's own budget is running
        for (int i = 0; i < 5; i++)
        {
            process.Allocated += 100 * MB;
            Assert.False(Look(reclaimer, clock, process));
        }
        Assert.Equal(0, process.Collections);
    }

    [Fact]
    public void LooksAtMostOncePerSecond()
    {
        var clock = new ManualClock();
        var process = new Process();
        var reclaimer = new MemoryReclaimer(clock);
        Look(reclaimer, clock, process);
        process.Resident = 500 * MB;
        Look(reclaimer, clock, process); // quiet already (nothing allocated): collects
        Assert.Equal(1, process.Collections);

        process.Resident = 900 * MB;
        process.ResidentAfterCollect = 100 * MB;
        for (int i = 0; i < 50; i++)
        {
            clock.Advance(TimeSpan.FromMilliseconds(10));
            reclaimer.Sweep(() => process.Resident, _ => process.Allocated, process.Collect);
        }
        Assert.Equal(1, process.Collections); // 0.5 s of sweeps: no look yet
        Assert.True(Look(reclaimer, clock, process));
    }
}
