using System.Runtime.CompilerServices;
using Rampart.Proxy.Backends;

namespace Rampart.Proxy.Tests.Backends;

public sealed class InFlightQueueTests
{
    [Fact]
    public void Requests_ComeOutInOrder_AcrossEveryGrowth()
    {
        var queue = new InFlightQueue();
        var requests = Enumerable.Range(0, 1000).Select(i => new ProxyRequest { SentTick = i }).ToArray();
        int taken = 0;
        // Interleaved: some taken between puts, so rings fill at different offsets before they grow.
        for (int i = 0; i < requests.Length; i++)
        {
            queue.Enqueue(requests[i]);
            if (i % 3 == 0)
            {
                Assert.True(queue.TryDequeue(out var r));
                Assert.Same(requests[taken++], r);
            }
        }
        while (queue.TryDequeue(out var r)) Assert.Same(requests[taken++], r);
        Assert.Equal(requests.Length, taken);
    }

    [Fact]
    public void OldestSentTick_IsTheHeadsAndGoneWhenEmpty()
    {
        var queue = new InFlightQueue();
        Assert.False(queue.TryGetOldestSentTick(out _));
        for (int i = 0; i < 200; i++) queue.Enqueue(new ProxyRequest { SentTick = 1000 + i });
        for (int i = 0; i < 200; i++)
        {
            Assert.True(queue.TryGetOldestSentTick(out long tick));
            Assert.Equal(1000 + i, tick);
            Assert.True(queue.TryDequeue(out _));
        }
        Assert.False(queue.TryGetOldestSentTick(out _));
    }

    [Fact]
    public void ATakenRequest_IsNotKeptReachable_EvenAfterTheOldestWasLookedAt()
    {
        var queue = new InFlightQueue();
        var taken = PassThrough(queue, 100);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.Equal(0, taken.Count(w => w.IsAlive));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static List<WeakReference> PassThrough(InFlightQueue queue, int count)
    {
        var weak = new List<WeakReference>();
        for (int i = 0; i < count; i++)
        {
            var request = new ProxyRequest { SentTick = i };
            weak.Add(new WeakReference(request));
            queue.Enqueue(request);
            queue.TryGetOldestSentTick(out _);
            Assert.True(queue.TryDequeue(out _));
            queue.TryGetOldestSentTick(out _);
        }
        return weak;
    }

    [Fact]
    public async Task ProducerAndConsumerOnTwoThreads_NothingLostOrReordered_WhileAnObserverLooks()
    {
        var queue = new InFlightQueue();
        const int count = 200_000;
        var requests = Enumerable.Range(0, count).Select(i => new ProxyRequest { SentTick = i }).ToArray();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var producer = Task.Run(() =>
        {
            for (int i = 0; i < count; i++) queue.Enqueue(requests[i]);
        });
        long lastSeen = -1;
        var observer = Task.Run(() =>
        {
            while (!producer.IsCompleted || queue.TryGetOldestSentTick(out _))
            {
                if (stop.IsCancellationRequested) return;
                // Every request up to 'taken' was dequeued before the look: the oldest must be a later one.
                long taken = Volatile.Read(ref lastSeen);
                if (queue.TryGetOldestSentTick(out long tick))
                    Assert.True(tick > taken, $"oldest reported {tick} after {taken} was taken");
            }
        });
        int next = 0;
        while (next < count && !stop.IsCancellationRequested)
        {
            if (queue.TryDequeue(out var r))
            {
                Assert.Same(requests[next], r);
                Volatile.Write(ref lastSeen, next);
                next++;
            }
        }
        await producer;
        await observer;
        Assert.Equal(count, next);
        Assert.False(queue.TryDequeue(out _));
    }
}
