using Microsoft.Extensions.Time.Testing;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Tests.Backends;

/// <summary>twemproxy's server_failure rule on a fake clock: eject after server_failure_limit, retry after server_retry_timeout.</summary>
public sealed class EjectionStateTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void EjectedByTheFailureThatReachesTheLimit_UntilTheRetryTimeoutPasses()
    {
        var ejection = new EjectionState(_clock);
        Assert.False(ejection.CountFailure(failureLimit: 3, retryTimeoutMs: 30_000));
        Assert.False(ejection.CountFailure(failureLimit: 3, retryTimeoutMs: 30_000));
        Assert.False(ejection.IsEjected);
        Assert.True(ejection.CountFailure(failureLimit: 3, retryTimeoutMs: 30_000));
        Assert.True(ejection.IsEjected);

        _clock.Advance(TimeSpan.FromMilliseconds(29_999));
        Assert.True(ejection.IsEjected);
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.False(ejection.IsEjected); // retried with real traffic
    }

    [Fact]
    public void AfterAnEjection_TheCountStartsAgain()
    {
        var ejection = new EjectionState(_clock);
        Assert.False(ejection.CountFailure(failureLimit: 2, retryTimeoutMs: 1000));
        Assert.True(ejection.CountFailure(failureLimit: 2, retryTimeoutMs: 1000));
        _clock.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.False(ejection.IsEjected);
        Assert.False(ejection.CountFailure(2, 1000)); // one failure after the retry: not yet ejected again
        Assert.False(ejection.IsEjected);
        Assert.True(ejection.CountFailure(2, 1000));
        Assert.True(ejection.IsEjected);
    }

    [Fact]
    public void WhileEjected_FurtherFailuresDoNotEjectAgain_NorExtendTheEjection()
    {
        var ejection = new EjectionState(_clock);
        Assert.False(ejection.CountFailure(2, 1000));
        Assert.True(ejection.CountFailure(2, 1000));
        // Requests in flight and the other connections fail too: one ejection, not one per failure.
        for (int i = 0; i < 10; i++) Assert.False(ejection.CountFailure(2, 1000));
        _clock.Advance(TimeSpan.FromMilliseconds(1000));
        Assert.False(ejection.IsEjected); // the retry time counts from the ejection, not from the last failure
        Assert.False(ejection.CountFailure(2, 1000)); // and the count starts from zero after it
        Assert.True(ejection.CountFailure(2, 1000));
    }

    [Fact]
    public async Task ConcurrentFailures_EjectOnce()
    {
        var ejection = new EjectionState(_clock);
        using var start = new Barrier(8);
        var ejections = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait();
            return Enumerable.Range(0, 1000).Count(_ => ejection.CountFailure(2, 1000));
        })));
        Assert.Equal(1, ejections.Sum());
    }

    [Fact]
    public void ASuccessfulConnect_ClearsTheFailuresTowardEjection()
    {
        var ejection = new EjectionState(_clock);
        Assert.False(ejection.CountFailure(2, 1000));
        ejection.OnConnected();
        Assert.False(ejection.CountFailure(2, 1000));
        Assert.False(ejection.IsEjected);
    }
}
