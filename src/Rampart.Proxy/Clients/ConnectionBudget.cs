namespace Rampart.Proxy.Clients;

/// <summary>
/// The process-wide client connection limit (<c>rampart: {max_connections: N}</c>), shared by every pool. A slot is
/// taken at accept and given back when the session closes. The limit can change on reload; clients already connected
/// over a lowered limit stay connected, and new ones wait until the count is under it.
/// </summary>
internal sealed class ConnectionBudget
{
    private int _current;
    private volatile int _max;
    private long _rejected;

    /// <summary>0 = unlimited.</summary>
    public int Max
    {
        get => _max;
        set => _max = value;
    }

    public int Current => Volatile.Read(ref _current);

    /// <summary>Connections refused because <see cref="Max"/> was reached.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    public bool TryTake()
    {
        int max = _max;
        int now = Interlocked.Increment(ref _current);
        if (max <= 0 || now <= max) return true;
        Interlocked.Decrement(ref _current);
        Interlocked.Increment(ref _rejected);
        return false;
    }

    public void Release() => Interlocked.Decrement(ref _current);
}
