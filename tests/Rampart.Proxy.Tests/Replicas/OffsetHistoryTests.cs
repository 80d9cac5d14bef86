using Rampart.Proxy.Replicas;

namespace Rampart.Proxy.Tests.Replicas;

/// <summary>How far behind a replica is, in ms, from the master's offsets seen at each check.</summary>
public class OffsetHistoryTests
{
    [Fact]
    public void AReplicaWithEverythingSeenIsNotBehind()
    {
        var history = new OffsetHistory(keepMs: 5000);
        history.Add(1000, 100);
        history.Add(1100, 200);
        Assert.Equal(0, history.LagMs(1150, 200));
        Assert.Equal(0, history.LagMs(1150, 250));
    }

    [Fact]
    public void LagIsTheAgeOfTheFirstCheckThatSawMoreThanTheReplicaHas()
    {
        var history = new OffsetHistory(keepMs: 5000);
        history.Add(1000, 100);
        history.Add(1100, 200);
        history.Add(1200, 300);
        Assert.Equal(150, history.LagMs(1250, 150)); // lacks what the check at 1100 saw
        Assert.Equal(250, history.LagMs(1250, 50));  // lacks even what the first check saw
        Assert.Equal(50, history.LagMs(1250, 299));
    }

    [Fact]
    public void OldPointsAreDroppedSoLagIsAtLeastTheSpanKept()
    {
        var history = new OffsetHistory(keepMs: 1000);
        for (long t = 0; t <= 5000; t += 100) history.Add(t, t);
        Assert.Equal(1000, history.LagMs(5000, 0)); // the oldest point kept is 1 s old
    }

    [Fact]
    public void ASmallerOffsetStartsANewHistory()
    {
        var history = new OffsetHistory(keepMs: 5000);
        history.Add(1000, 5000);
        history.Add(1100, 10); // a new master, a new replication history
        Assert.Equal(0, history.LagMs(1200, 10));
        Assert.Equal(100, history.LagMs(1200, 5));
    }
}
