using Microsoft.Extensions.Logging;

namespace Rampart.Proxy.Transport;

/// <summary>
/// Rampart's event loops, one thread each (<c>rampart: {event_loops}</c>, default 1 as twemproxy). A client stays on
/// the loop it was given at accept; each loop has its own shared connection(s) to every server, so a client's
/// requests, their server write and the replies all run on one thread, and a turn's requests still leave in one write
/// per server and loop. More loops spread the sends and receives (most of a proxy's CPU is in them) over more cores,
/// at the price of one more set of server connections per loop and smaller batches (docs/performance.md, "Event loops").
/// </summary>
internal sealed class EventLoopGroup : IDisposable
{
    /// <summary>
    /// One loop unless configured: twemproxy's footprint (one thread, <c>server_connections</c> per server), which its
    /// users run as a sidecar on application hosts, where every loop would add connections to each Redis.
    /// </summary>
    public const int DefaultCount = 1;

    private readonly EventLoop[] _loops;
    private int _next = -1;

    public EventLoopGroup(int count, ILoggerFactory loggers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        var logger = loggers.CreateLogger("Rampart.EventLoop");
        _loops = new EventLoop[count];
        for (int i = 0; i < count; i++) _loops[i] = new EventLoop(logger, i);
    }

    public int Count => _loops.Length;

    public EventLoop this[int index] => _loops[index];

    /// <summary>The loop for a new connection: round-robin, so clients spread evenly over the threads.</summary>
    public EventLoop Next() => _loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)_loops.Length)];

    public void Dispose()
    {
        foreach (var loop in _loops) loop.Dispose();
    }
}
