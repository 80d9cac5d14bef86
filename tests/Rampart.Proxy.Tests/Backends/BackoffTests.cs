using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>The reconnect backoff on a fake clock: 100 ms doubling with each failure in a row, up to 5 s.</summary>
public sealed class BackoffTests
{
    [Fact]
    public void DelayDoublesWithEachFailure_UpToItsCeiling()
    {
        var delays = Enumerable.Range(1, 10).Select(Backoff.Reconnect.DelayMs).ToArray();
        Assert.Equal([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000], delays);
        Assert.Equal(5000, Backoff.Reconnect.DelayMs(int.MaxValue)); // no overflow however long the server stays down
        Assert.Equal(100, Backoff.Reconnect.DelayMs(0));
        Assert.Equal([50, 100, 200, 400, 500, 500], Enumerable.Range(1, 6).Select(new Backoff(50, 500).DelayMs));
    }

    [Fact]
    public void FailedConnect_WaitsExactlyItsBackoff_DoublingToFiveSeconds()
    {
        var clock = new FakeTimeProvider();
        var backoff = new ReconnectBackoff(clock);
        Assert.False(backoff.IsWaiting);
        foreach (int expected in new[] { 100, 200, 400, 800, 1600, 3200, 5000, 5000 })
        {
            backoff.OnFailed("refused");
            clock.Advance(TimeSpan.FromMilliseconds(expected - 1));
            Assert.True(backoff.IsWaiting, $"the {expected} ms backoff ended early");
            Assert.False(backoff.IsDueForRetry(clock.NowMs()));
            clock.Advance(TimeSpan.FromMilliseconds(1));
            Assert.False(backoff.IsWaiting, $"the {expected} ms backoff did not end");
            Assert.True(backoff.IsDueForRetry(clock.NowMs()));
        }
        Assert.Equal(8, backoff.Failures);
        Assert.Equal("refused", backoff.Reason);
    }

    [Fact]
    public void SuccessfulConnect_MakesTheNextFailureWaitTheFirstStepAgain()
    {
        var clock = new FakeTimeProvider();
        var backoff = new ReconnectBackoff(clock);
        for (int i = 0; i < 5; i++) backoff.OnFailed("refused");
        backoff.OnConnected();
        Assert.Equal(0, backoff.Failures);
        Assert.False(backoff.IsDueForRetry(clock.NowMs())); // up: nothing to retry
        backoff.OnFailed("refused again");
        clock.Advance(TimeSpan.FromMilliseconds(99));
        Assert.True(backoff.IsWaiting);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(backoff.IsWaiting);
    }

    [Fact]
    public void Reset_EndsTheWaitAtOnce()
    {
        var clock = new FakeTimeProvider();
        var backoff = new ReconnectBackoff(clock);
        backoff.OnFailed("refused");
        Assert.True(backoff.IsWaiting);
        backoff.Reset(); // a newly confirmed master
        Assert.False(backoff.IsWaiting);
        Assert.Equal(0, backoff.Failures);
    }
}
