namespace Rampart.Proxy.Clients;

/// <summary>
/// A pool's open client connections per source address, for <c>max_connections_per_ip</c>. Every TCP client is counted
/// whether or not the limit is set, so turning it on by a reload counts the clients already connected. Taken at accept
/// and given back when the session closes; never touched by the request path, so a lock is fine here.
/// </summary>
internal sealed class ConnectionsPerAddress
{
    private readonly Lock _gate = new();
    private readonly Dictionary<SourceAddress, int> _counts = [];

    /// <summary>Counts one more connection from <paramref name="address"/>, unless it has <paramref name="max"/> already (0 = unlimited).</summary>
    public bool TryTake(SourceAddress address, int max)
    {
        lock (_gate)
        {
            _counts.TryGetValue(address, out int count);
            if (max > 0 && count >= max) return false;
            _counts[address] = count + 1;
            return true;
        }
    }

    public void Release(SourceAddress address)
    {
        lock (_gate)
        {
            if (!_counts.TryGetValue(address, out int count)) return;
            if (count <= 1) _counts.Remove(address);
            else _counts[address] = count - 1;
        }
    }

    /// <summary>Connections open now from <paramref name="address"/>.</summary>
    public int CountOf(SourceAddress address)
    {
        lock (_gate) return _counts.GetValueOrDefault(address);
    }
}
