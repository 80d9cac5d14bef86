using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>The failover hold's limit on a fake clock: traffic waits at most five seconds from the first start.</summary>
public sealed class FailoverHoldTests
{
    private readonly FakeTimeProvider _clock = new();

    private long Now => _clock.NowMs();

    [Fact]
    public void Hold_LastsUntilItsLimit_ThenHasExpired()
    {
        var hold = FailoverHold.None;
        Assert.False(hold.IsHoldingAt(Now));
        hold = hold.BeginAt(Now) ?? throw new Xunit.Sdk.XunitException("a hold should start");
        _clock.Advance(TimeSpan.FromMilliseconds(FailoverHold.LimitMs - 1));
        Assert.True(hold.IsHoldingAt(Now));
        Assert.False(hold.HasExpiredAt(Now));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(hold.IsHoldingAt(Now));
        Assert.True(hold.HasExpiredAt(Now)); // set until the sweep ends it and fails what waited
        Assert.True(hold.IsSet);
        hold = FailoverHold.None; // ended
        Assert.False(hold.HasExpiredAt(Now));
        Assert.False(hold.IsSet);
    }

    [Fact]
    public void AnotherFailoverEvent_DoesNotExtendTheHold()
    {
        var hold = FailoverHold.None.BeginAt(Now)!.Value;
        _clock.Advance(TimeSpan.FromMilliseconds(3000));
        Assert.Null(hold.BeginAt(Now)); // +promoted-slave after +try-failover: same hold, same limit
        _clock.Advance(TimeSpan.FromMilliseconds(2000));
        Assert.False(hold.IsHoldingAt(Now));
        Assert.NotNull(hold.BeginAt(Now)); // once past its limit, a new failover starts a new hold
    }

    [Fact]
    public void EndedBeforeItsLimit_TheHoldNeverExpires()
    {
        var hold = FailoverHold.None.BeginAt(Now)!.Value;
        Assert.True(hold.IsHoldingAt(Now));
        hold = FailoverHold.None; // the new master was confirmed
        _clock.Advance(TimeSpan.FromMilliseconds(FailoverHold.LimitMs));
        Assert.False(hold.IsHoldingAt(Now));
        Assert.False(hold.HasExpiredAt(Now));
    }
}
