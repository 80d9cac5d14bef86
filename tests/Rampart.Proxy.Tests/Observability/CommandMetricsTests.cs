using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Observability;

namespace Rampart.Proxy.Tests.Observability;

/// <summary>The per-command counters and their fixed latency buckets, without a network.</summary>
public sealed class CommandMetricsTests
{
    private static long Ticks(long nanoseconds) => nanoseconds * Stopwatch.Frequency / 1_000_000_000;

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 0)]
    [InlineData(8_192, 0)]          // bucket 0 holds up to 2^13 ns, inclusive
    [InlineData(8_193, 1)]
    [InlineData(16_384, 1)]
    [InlineData(1_000_000, 7)]      // 1 ms: 2^19 < 1e6 <= 2^20
    [InlineData(68_719_476_736, 23)] // the last finite bound, 2^36 ns
    [InlineData(68_719_476_737, 24)] // past it: +Inf
    [InlineData(long.MaxValue, 24)]
    public void IndexOf_PutsADurationInTheSmallestBucketThatHoldsIt(long nanoseconds, int bucket)
    {
        Assert.Equal(bucket, LatencyBuckets.IndexOf(nanoseconds));
        if (bucket < LatencyBuckets.Finite) Assert.True(nanoseconds <= LatencyBuckets.UpperBoundSeconds(bucket) * 1e9);
        if (bucket > 0) Assert.True(nanoseconds > LatencyBuckets.UpperBoundSeconds(bucket - 1) * 1e9);
    }

    [Fact]
    public void Quantile_InterpolatesInsideTheBucket_AsHistogramQuantileDoes()
    {
        var buckets = new long[LatencyBuckets.Count];
        buckets[3] = 50;  // (32.768, 65.536] µs
        buckets[4] = 50;  // (65.536, 131.072] µs
        Assert.Equal(65.536e-6, LatencyBuckets.Quantile(buckets, 0.50)!.Value, 9);
        Assert.Equal(65.536e-6 + (131.072e-6 - 65.536e-6) * 0.98, LatencyBuckets.Quantile(buckets, 0.99)!.Value, 9);
        Assert.Null(LatencyBuckets.Quantile(new long[LatencyBuckets.Count], 0.5));
    }

    [Fact]
    public void Record_CountsRequestsErrorsAndLatencyPerCommand()
    {
        var metrics = new CommandMetrics();
        int get = CommandTable.Find("GET"u8)!.Id, set = CommandTable.Find("SET"u8)!.Id;
        metrics.Record(get, Ticks(100_000), error: false);
        metrics.Record(get, Ticks(300_000), error: true);
        metrics.Record(set, Ticks(5_000), error: false);

        var snapshot = metrics.Snapshot().ToDictionary(c => c.Command);
        Assert.Equal(["get", "set"], snapshot.Keys.Order());
        Assert.Equal(2, snapshot["get"].Requests);
        Assert.Equal(1, snapshot["get"].Errors);
        Assert.Equal(400e-6, snapshot["get"].Seconds, 6);
        Assert.Equal(1, snapshot["get"].Buckets[LatencyBuckets.IndexOf(100_000)]);
        Assert.Equal(1, snapshot["get"].Buckets[LatencyBuckets.IndexOf(300_000)]);
        Assert.Equal(1, snapshot["set"].Requests);
        Assert.Equal(0, snapshot["set"].Errors);
    }

    [Fact]
    public void Record_FromTwoThreadsAtOnce_LosesNothing()
    {
        var metrics = new CommandMetrics();
        int get = CommandTable.Find("GET"u8)!.Id;
        const int PerThread = 200_000;
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            for (int i = 0; i < PerThread; i++) metrics.Record(get, Ticks(10_000 + i % 1000), error: i % 10 == 0);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => Assert.True(t.Join(TimeSpan.FromSeconds(30))));

        var counters = Assert.Single(metrics.Snapshot());
        Assert.Equal(2 * PerThread, counters.Requests);
        Assert.Equal(2 * PerThread / 10, counters.Errors);
    }

    [Fact]
    public void RuntimeLogLevels_LongestPrefixWins_AndChangesApplyAtOnce()
    {
        var levels = new RuntimeLogLevels(LogLevel.Information);
        int changes = 0;
        levels.Changed += () => changes++;
        Assert.False(levels.IsEnabled("Rampart.Sentinel", LogLevel.Debug));

        levels.Set("Rampart", LogLevel.Warning);
        levels.Set("Rampart.Sentinel", LogLevel.Debug);
        Assert.True(levels.IsEnabled("Rampart.Sentinel", LogLevel.Debug));
        Assert.True(levels.IsEnabled("Rampart.Sentinel.Events", LogLevel.Debug));
        Assert.False(levels.IsEnabled("Rampart.SentinelX", LogLevel.Information)); // a prefix is a whole name segment
        Assert.False(levels.IsEnabled("Rampart.Backends", LogLevel.Information));
        Assert.True(levels.IsEnabled("Microsoft.AspNetCore", LogLevel.Information));
        Assert.False(levels.IsEnabled("Rampart.Sentinel", LogLevel.None));

        levels.Set("Rampart", null);
        Assert.True(levels.IsEnabled("Rampart.Backends", LogLevel.Information));
        Assert.Equal(3, changes);
    }
}
