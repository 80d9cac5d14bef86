using System.Diagnostics;
using Rampart.Proxy;
using Rampart.Proxy.Observability;

namespace Rampart.Admin;

/// <summary>
/// Snapshots taken every second, the last few kept, so the dashboard can show rates and percentiles over the last
/// seconds (a window) rather than since start. The timer runs only while the admin server does.
/// </summary>
internal sealed class SnapshotHistory : IDisposable
{
    private const int Keep = 6;
    private readonly ProxyServer _proxy;
    private readonly Queue<ProxySnapshot> _samples = new();
    private readonly Timer _timer;

    public SnapshotHistory(ProxyServer proxy, TimeSpan period)
    {
        _proxy = proxy;
        _timer = new Timer(_ => Sample(), null, TimeSpan.Zero, period);
    }

    private void Sample()
    {
        var snapshot = _proxy.TakeSnapshot();
        lock (_samples)
        {
            if (_samples.Count == Keep) _samples.Dequeue();
            _samples.Enqueue(snapshot);
        }
    }

    /// <summary>The oldest sample kept (about five seconds old once running), to diff a fresh snapshot against.</summary>
    public ProxySnapshot? Oldest()
    {
        lock (_samples) return _samples.Count == 0 ? null : _samples.Peek();
    }

    public void Dispose() => _timer.Dispose();
}

/// <summary>What happened between two snapshots of one backend (or pool): requests/s, errors/s, p50 and p99.</summary>
internal readonly record struct Window(double RequestsPerSecond, double ErrorsPerSecond, double? P50, double? P99)
{
    public static Window Between(long requestsNow, long errorsNow, long[] bucketsNow,
        long requestsThen, long errorsThen, long[]? bucketsThen, double seconds)
    {
        if (bucketsThen is null || seconds <= 0) return new Window(0, 0, null, null);
        var delta = new long[bucketsNow.Length];
        for (int i = 0; i < delta.Length; i++) delta[i] = Math.Max(0, bucketsNow[i] - bucketsThen[i]);
        return new Window(Math.Max(0, requestsNow - requestsThen) / seconds, Math.Max(0, errorsNow - errorsThen) / seconds,
            LatencyBuckets.Quantile(delta, 0.50), LatencyBuckets.Quantile(delta, 0.99));
    }

    public static double Seconds(ProxySnapshot now, ProxySnapshot? then) =>
        then is null ? 0 : (now.Timestamp - then.Timestamp) / (double)Stopwatch.Frequency;
}
