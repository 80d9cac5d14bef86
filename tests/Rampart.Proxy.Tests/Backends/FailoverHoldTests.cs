using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>The failover hold's limit on a fake clock: traffic waits at most five seconds from the first start.</summary>
public sealed class FailoverHoldTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void Hold_LastsUntilItsLimit_ThenHasExpired()
    {
        var hold = new FailoverHold(_clock);
        Assert.False(hold.IsHolding);
        Assert.True(hold.Begin());
        _clock.Advance(TimeSpan.FromMilliseconds(FailoverHold.LimitMs - 1));
        Assert.True(hold.IsHolding);
        Assert.False(hold.HasExpired(_clock.NowMs()));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(hold.IsHolding);
        Assert.True(hold.HasExpired(_clock.NowMs())); // set until the sweep ends it and fails what waited
        Assert.True(hold.End());
        Assert.False(hold.HasExpired(_clock.NowMs()));
        Assert.False(hold.End());
    }

    [Fact]
    public void AnotherFailoverEvent_DoesNotExtendTheHold()
    {
        var hold = new FailoverHold(_clock);
        Assert.True(hold.Begin());
        _clock.Advance(TimeSpan.FromMilliseconds(3000));
        Assert.False(hold.Begin()); // +promoted-slave after +try-failover: same hold, same limit
        _clock.Advance(TimeSpan.FromMilliseconds(2000));
        Assert.False(hold.IsHolding);
    }

    [Fact]
    public void EndedBeforeItsLimit_TheHoldNeverExpires()
    {
        var hold = new FailoverHold(_clock);
        hold.Begin();
        Assert.True(hold.End()); // the new master was confirmed
        _clock.Advance(TimeSpan.FromMilliseconds(FailoverHold.LimitMs));
        Assert.False(hold.IsHolding);
        Assert.False(hold.HasExpired(_clock.NowMs()));
    }
}
