namespace Rampart.Proxy;

/// <summary>
/// Milliseconds on an injected <see cref="TimeProvider"/>'s monotonic clock: the unit the engine keeps its deadlines in
/// (reconnect backoff, ejection, failover holds, request timeouts and stalls, pauses, retiring servers). Every one of
/// them reads the <see cref="ProxyServer"/>'s one TimeProvider (<see cref="TimeProvider.System"/> in production), so
/// tests move a fake clock instead of sleeping. Only per-socket-read stamps on the hot path stay on raw clocks
/// (docs/architecture.md, "Time").
/// </summary>
internal static class TimeProviderExtensions
{
    /// <summary>Now, in milliseconds of the monotonic clock (an arbitrary origin: compare, never display).</summary>
    public static long NowMs(this TimeProvider time)
    {
        // The system clock in ms is Environment.TickCount64, what the engine read before time was injected: the request
        // path reads it (a stalled connection, a send time per write), and it costs a few ns with no virtual call. Every
        // NowMs of one provider comes from the same clock, so deadlines compare like with like.
        if (ReferenceEquals(time, TimeProvider.System)) return Environment.TickCount64;
        long timestamp = time.GetTimestamp();
        long frequency = time.TimestampFrequency;
        // Split so that timestamp * 1000 cannot overflow (nanosecond timestamps would after ~106 days of uptime).
        return timestamp / frequency * 1000 + timestamp % frequency * 1000 / frequency;
    }
}
