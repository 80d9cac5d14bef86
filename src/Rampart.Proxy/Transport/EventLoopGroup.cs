using Microsoft.Extensions.Logging;

namespace Rampart.Proxy.Transport;

/// <summary>
/// Rampart's event loops, one thread each (<c>rampart: {event_loops}</c>). A client stays on the loop it was given at
/// accept; each loop has its own shared connection(s) to every server, so a client's requests, their server write and
/// the replies all run on one thread, and a turn's requests still leave in one write per server and loop. More loops
/// spread the sends and receives (most of a proxy's CPU is in them) over more cores; on two cores shared with Redis and
/// the clients, two loops keep both busy where one left a core idle while it waited for wake-ups.
/// </summary>
internal sealed class EventLoopGroup : IDisposable
{
    /// <summary>Default number of loops: one per core the process may use, at most <see cref="MaxDefault"/>.</summary>
    public static int DefaultCount => Math.Clamp(Environment.ProcessorCount, 1, MaxDefault);

    /// <summary>More loops than this by default would spread each server's batches thin for little gain.</summary>
    public const int MaxDefault = 8;

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
