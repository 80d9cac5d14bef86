using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Topology;

namespace Rampart.Proxy.Tests.Topology;

/// <summary>The Sentinel re-check interval on a fake clock: a check waits check_interval, or less when asked.</summary>
public sealed class RecheckSignalTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(5); // real time, only if something is broken
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public async Task Wait_EndsWhenTheIntervalHasPassedOnTheClock_NotBefore()
    {
        var signal = new RecheckSignal(_clock);
        var wait = signal.WaitAsync(TimeSpan.FromMilliseconds(1000), CancellationToken.None);
        _clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(wait.IsCompleted);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(await wait.WaitAsync(Bound)); // the interval passed: not asked for
    }

    [Fact]
    public async Task Request_EndsTheWaitAtOnce_AndSeveralMakeOneRecheck()
    {
        var signal = new RecheckSignal(_clock);
        signal.Request();
        signal.Request();
        signal.Request(); // three events during one check
        Assert.True(await signal.WaitAsync(TimeSpan.FromMilliseconds(1000), CancellationToken.None).WaitAsync(Bound));

        var next = signal.WaitAsync(TimeSpan.FromMilliseconds(1000), CancellationToken.None);
        Assert.False(next.IsCompleted); // the other two were the same re-check
        signal.Request();
        Assert.True(await next.WaitAsync(Bound));
    }

    [Fact]
    public async Task Stop_EndsTheWaitWithCancellation()
    {
        var signal = new RecheckSignal(_clock);
        using var stop = new CancellationTokenSource();
        var wait = signal.WaitAsync(TimeSpan.FromMilliseconds(1000), stop.Token);
        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(Bound));
    }

    [Theory]
    [InlineData(1000, false, 1000)]
    [InlineData(1000, true, 500)] // a shard without a confirmed master is looked at again sooner
    [InlineData(200, true, 200)]
    public void NextWait_IsTheCheckInterval_AtMost500MsWhileAShardHasNoMaster(int interval, bool unconfirmed, int expected) =>
        Assert.Equal(expected, RecheckSignal.NextWaitMs(interval, unconfirmed));
}
