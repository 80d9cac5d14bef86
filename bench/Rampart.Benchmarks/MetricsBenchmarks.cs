using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Rampart.Protocol.Commands;
using Rampart.Proxy.Observability;

namespace Rampart.Benchmarks;

/// <summary>
/// The cost of counting one request in the per-command metrics (issue 5: under 50 ns, no allocation). Record is what
/// the server reader calls per reply; RecordWithClock adds the clock read the reader takes once per socket read (an
/// upper bound: with pipelining that read is shared by many replies).
/// </summary>
[MemoryDiagnoser]
public class MetricsBenchmarks
{
    private readonly CommandMetrics _metrics = new();
    private readonly int _get = CommandTable.Find("GET"u8)!.Id;
    private readonly int _set = CommandTable.Find("SET"u8)!.Id;
    private long _start;

    [GlobalSetup]
    public void Setup()
    {
        // Rows exist after the first request of a command; the steady state is what is measured.
        _metrics.Record(_get, 1, false);
        _metrics.Record(_set, 1, true);
        _start = Stopwatch.GetTimestamp();
    }

    [Benchmark(Baseline = true)]
    public void Record() => _metrics.Record(_get, 180_000, error: false);

    [Benchmark]
    public void RecordError() => _metrics.Record(_set, 2_500_000, error: true);

    [Benchmark]
    public void RecordWithClock() => _metrics.Record(_get, Stopwatch.GetTimestamp() - _start, error: false);
}
