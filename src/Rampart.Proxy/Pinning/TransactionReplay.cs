using Rampart.Protocol;

namespace Rampart.Proxy.Pinning;

/// <summary>
/// In a Redis Cluster pool, the requests a pin sent on its dedicated connection since its transaction state began
/// (WATCH or MULTI, the commands queued, EXEC): what must be sent again, in order, on a connection to another node when
/// the slot moves before the state has done anything the old node alone remembers. It records whether a WATCH is among
/// them, since a WATCH that ran holds the old node's watch and cannot be carried over (PinnedSession.ClusterTransaction).
/// </summary>
/// <remarks>Not thread-safe: touched only under the owning <see cref="PinnedSession"/>'s lock. Only a cluster pool's
/// pin writes to it; its buffer is taken on the first request recorded and given back with the pin.</remarks>
internal sealed class TransactionReplay : IDisposable
{
    private ByteBuffer? _bytes;
    // Where each request recorded one by one starts, by its index among all recorded (those recorded together with
    // AddUnanswered have none: a redirect never answers them, since their replies come before any other).
    private readonly List<(int Index, int Start)> _starts = [];

    /// <summary>Requests recorded (each takes one reply).</summary>
    public int Count { get; private set; }

    /// <summary>A WATCH is among them.</summary>
    public bool HasWatch { get; private set; }

    /// <summary>MOVED/ASK followed in this state (bounded like the shared path's).</summary>
    public int Redirections { get; set; }

    /// <summary>A new transaction state begins: nothing before it is sent again.</summary>
    public void Clear()
    {
        _bytes?.Clear();
        _starts.Clear();
        Count = 0;
        HasWatch = false;
        Redirections = 0;
    }

    /// <summary>Records one request sent (<paramref name="watch"/>: it is a WATCH).</summary>
    public void Add(ReadOnlySpan<byte> request, bool watch)
    {
        Count++;
        // After a WATCH nothing is sent again but the WATCH itself, alone: the rest is only counted, so a client that
        // keeps a WATCH for long does not grow this buffer.
        if (HasWatch) return;
        _bytes ??= new ByteBuffer(256);
        _starts.Add((Count - 1, _bytes.Length));
        _bytes.Write(request);
        HasWatch = watch;
    }

    /// <summary>Records requests sent together whose replies nobody reads (a held MULTI and keyless commands).</summary>
    public void AddUnanswered(ReadOnlySpan<byte> requests, int count)
    {
        _bytes ??= new ByteBuffer(256);
        _bytes.Write(requests);
        Count += count;
    }

    /// <summary>
    /// Every request recorded before the one of index <paramref name="index"/> (0: the first recorded), when that one
    /// was recorded one by one; false otherwise (after a WATCH only the WATCH itself is kept).
    /// </summary>
    public bool TryBytesBefore(int index, out ReadOnlySpan<byte> before)
    {
        before = default;
        if (index == 0) return true;
        foreach (var (at, start) in _starts)
        {
            if (at != index) continue;
            before = _bytes!.Span[..start];
            return true;
        }
        return false;
    }

    public void Dispose()
    {
        _bytes?.Dispose();
        _bytes = null;
        _starts.Clear();
        Count = 0;
    }
}
