using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Rampart.Protocol.Commands;

namespace Rampart.Proxy.Observability;

/// <summary>
/// Per-request logging, off by default: at Debug level on the category <see cref="Category"/>, one request in
/// <see cref="Every"/> is logged (command, server, latency, whether it failed). Off costs one field read per reply;
/// a proxy doing 100k requests/s would otherwise log 100k lines/s.
/// </summary>
public sealed partial class RequestSampler
{
    public const string Category = "Rampart.Requests";
    /// <summary>The sampling used when Debug is switched on without saying how much.</summary>
    public const int DefaultEvery = 100;

    private readonly ILogger _logger;
    private volatile int _every;
    private int _counter;

    public RequestSampler(ILoggerFactory? loggers = null) =>
        _logger = (loggers ?? NullLoggerFactory.Instance).CreateLogger(Category);

    /// <summary>In force now: 0, off; N, one request in N is logged.</summary>
    public int Every
    {
        get => _every;
        set => _every = Math.Max(0, value);
    }

    /// <summary>One request in how many is logged while <see cref="Category"/> is at Debug or below.</summary>
    public int SampleEvery
    {
        get => _sampleEvery;
        set => _sampleEvery = Math.Max(1, value);
    }
    private volatile int _sampleEvery = DefaultEvery;

    /// <summary>Turns sampling on while <paramref name="levels"/> enables Debug for <see cref="Category"/>, off otherwise.</summary>
    public void Follow(RuntimeLogLevels levels)
    {
        Apply();
        levels.Changed += Apply;

        void Apply() => Every = levels.IsEnabled(Category, LogLevel.Debug) ? SampleEvery : 0;
    }

    /// <summary>Called per completed request; logs it when sampling is on and its turn has come.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal void Observe(string pool, string server, int commandId, long elapsedTicks, bool error)
    {
        int every = _every;
        if (every != 0) Sample(every, pool, server, commandId, elapsedTicks, error);
    }

    private void Sample(int every, string pool, string server, int commandId, long elapsedTicks, bool error)
    {
        if ((uint)Interlocked.Increment(ref _counter) % (uint)every != 0) return;
        LogRequest(pool, CommandTable.ForId(commandId).DisplayName, server, LatencyBuckets.ToNanoseconds(elapsedTicks) / 1000.0, error ? "error" : "ok");
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Request {Command} on pool {Pool} to {Server}: {Micros} µs, {Outcome} (sampled)")]
    private partial void LogRequest(string pool, string command, string server, double micros, string outcome);
}
