using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Proxy.Transport;

namespace Rampart.Proxy.Tests.Transport;

/// <summary>
/// A write the event loop holds (<see cref="EventLoop.HoldWrite"/>) is let go by the loop itself once the hold's time
/// is up, with no socket event to wake it, and never before.
/// </summary>
public sealed class HeldWriteTests : IDisposable
{
    private readonly EventLoop _loop = new(NullLogger.Instance);

    public void Dispose() => _loop.Dispose();

    private sealed class Held(EventLoop loop) : IHeldWrite
    {
        public readonly TaskCompletionSource<(TimeSpan After, bool OnLoop)> Expired = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public long StartedAt;

        public void OnHoldExpired() => Expired.TrySetResult((Stopwatch.GetElapsedTime(StartedAt), loop.IsLoopThread));
    }

    [Fact]
    public async Task AHeldWrite_ExpiresOnTheLoop_AfterTheHold_WithNothingElseHappening()
    {
        var held = new Held(_loop);
        _loop.Post(() =>
        {
            held.StartedAt = Stopwatch.GetTimestamp();
            _loop.HoldWrite(held);
        });
        var (after, onLoop) = await held.Expired.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(onLoop);
        Assert.True(after >= TimeSpan.FromMicroseconds(HeldWrites.HoldMicroseconds), $"expired after {after.TotalMicroseconds} µs");
    }

    [Fact]
    public async Task Holds_ExpireInTheOrderTheyBegan()
    {
        var order = new List<int>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holds = Enumerable.Range(0, 3).Select(i => new Recorder(() =>
        {
            order.Add(i);
            if (order.Count == 3) done.TrySetResult();
        })).ToArray();
        foreach (var hold in holds) _loop.Post(() => _loop.HoldWrite(hold));
        await done.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal([0, 1, 2], order);
    }

    private sealed class Recorder(Action onExpired) : IHeldWrite
    {
        public void OnHoldExpired() => onExpired();
    }
}
