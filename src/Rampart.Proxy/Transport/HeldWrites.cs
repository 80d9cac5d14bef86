using System.Diagnostics;

namespace Rampart.Proxy.Transport;

/// <summary>A client write its event loop holds back for a moment (<see cref="EventLoop.HoldWrite"/>).</summary>
internal interface IHeldWrite
{
    /// <summary>The hold is over: write what is held. On the loop thread, before the turn's end-of-turn work.</summary>
    void OnHoldExpired();
}

/// <summary>
/// Client writes held back by one event loop, each for at most <see cref="HoldMicroseconds"/>. Every hold lasts the
/// same, so they expire in the order they began: a queue, whose first entry is the next deadline. A holder that wrote
/// before its deadline is still told when it expires, and ignores it. Loop thread only.
/// </summary>
/// <remarks>
/// The clock is the monotonic one of <see cref="Stopwatch"/>, not the engine's <see cref="TimeProvider"/>: the bound
/// pairs with the kernel's own timer in epoll's wait, and a test's frozen clock must never hold a reply for good.
/// </remarks>
internal sealed class HeldWrites
{
    /// <summary>
    /// How long a client's completed replies may wait for the rest of its pipeline. The other servers' replies are
    /// usually in within a loopback round trip (tens of µs), but on a host whose cores are all busy a server waits
    /// for its turn on a core: holds of 200 µs expired often there (GET -P 16 over a cluster, docs/performance.md) and
    /// saved half of what holds of 1 ms did. Only a reply with a slower one of its client behind it ever waits this long.
    /// </summary>
    public const int HoldMicroseconds = 1_000;

    private static readonly long HoldTicks = Stopwatch.Frequency * HoldMicroseconds / 1_000_000;

    private readonly Queue<(IHeldWrite Write, long Deadline)> _holds = new();

    public void Add(IHeldWrite write) => _holds.Enqueue((write, Stopwatch.GetTimestamp() + HoldTicks));

    /// <summary>Nanoseconds until the first hold expires (0 when one is due), or -1 when nothing is held.</summary>
    public long NanosecondsToNext()
    {
        if (!_holds.TryPeek(out var first)) return -1;
        long ticks = first.Deadline - Stopwatch.GetTimestamp();
        return ticks <= 0 ? 0 : (long)(ticks * (1_000_000_000.0 / Stopwatch.Frequency));
    }

    /// <summary>Ends every hold whose deadline has passed.</summary>
    public void ExpireDue()
    {
        if (_holds.Count == 0) return; // no clock reading on a turn with nothing held
        long now = Stopwatch.GetTimestamp();
        while (_holds.TryPeek(out var first) && first.Deadline <= now)
        {
            _holds.Dequeue();
            first.Write.OnHoldExpired();
        }
    }
}
