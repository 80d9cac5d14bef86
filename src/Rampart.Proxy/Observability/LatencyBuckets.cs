using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace Rampart.Proxy.Observability;

/// <summary>
/// The fixed latency buckets of Rampart's histograms: bucket i holds durations up to 2^(13+i) ns (8.192 µs, 16.384
/// µs, ... 68.7 s), and the last one everything longer. Powers of two, so finding a bucket is one leading-zero count,
/// with no loop and no branch on the request path. Every bucket is within a factor 2 of its neighbour, which bounds
/// the error of a percentile read from them to that factor (less with interpolation). Public for the readers of
/// <see cref="ProxySnapshot"/> (the admin server's quantiles and Prometheus buckets); recording stays internal.
/// </summary>
public static class LatencyBuckets
{
    private const int FirstShift = 13;
    /// <summary>Finite upper bounds; one more bucket (+Inf) follows them.</summary>
    public const int Finite = 24;
    /// <summary>Buckets including the +Inf one.</summary>
    public const int Count = Finite + 1;

    // Stopwatch ticks are nanoseconds on Linux; elsewhere they are converted (a multiply, off the Linux path).
    private static readonly bool TicksAreNanoseconds = Stopwatch.Frequency == 1_000_000_000;
    private static readonly double NanosecondsPerTick = 1e9 / Stopwatch.Frequency;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long ToNanoseconds(long ticks)
    {
        if (ticks <= 0) return 0;
        return TicksAreNanoseconds ? ticks : (long)(ticks * NanosecondsPerTick);
    }

    /// <summary>The bucket of a duration: the smallest i with <paramref name="nanoseconds"/> &lt;= 2^(13+i), or +Inf.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int IndexOf(long nanoseconds)
    {
        ulong scaled = (ulong)Math.Max(0, nanoseconds - 1) >> FirstShift;
        int index = 64 - BitOperations.LeadingZeroCount(scaled);
        return Math.Min(index, Finite);
    }

    /// <summary>Upper bound of bucket <paramref name="index"/> in seconds (+Inf for the last).</summary>
    public static double UpperBoundSeconds(int index) =>
        index >= Finite ? double.PositiveInfinity : (1L << (FirstShift + index)) / 1e9;

    /// <summary>
    /// The <paramref name="quantile"/> (0..1) of the durations counted in <paramref name="buckets"/>, in seconds,
    /// interpolated linearly inside its bucket as Prometheus's histogram_quantile does; null when nothing was counted.
    /// </summary>
    public static double? Quantile(ReadOnlySpan<long> buckets, double quantile)
    {
        long total = 0;
        foreach (long b in buckets) total += b;
        if (total == 0) return null;
        double rank = quantile * total;
        long seen = 0;
        for (int i = 0; i < buckets.Length; i++)
        {
            if (buckets[i] == 0 || seen + buckets[i] < rank)
            {
                seen += buckets[i];
                continue;
            }
            double lower = i == 0 ? 0 : UpperBoundSeconds(i - 1);
            if (i >= Finite) return lower; // past the last bound: the bound is all that is known
            double upper = UpperBoundSeconds(i);
            return lower + (upper - lower) * ((rank - seen) / buckets[i]);
        }
        return UpperBoundSeconds(Finite - 1);
    }
}
