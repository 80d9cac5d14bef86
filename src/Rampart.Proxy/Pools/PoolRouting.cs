using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Pools;

/// <summary>
/// Where a pool's keys go: an immutable snapshot of its servers and key placement, swapped whole when the topology
/// changes (reload, ejection, failover, a new cluster slot map), so the request path reads it without locks.
/// A twemproxy pool places keys by hash, hash tag and distribution; a Redis Cluster pool by the CRC16 slot of the key
/// (Redis Cluster's <c>{tag}</c> rule) and its slot map. Both answer in "placements": the unit whose keys must
/// travel together in one request (a server in a twemproxy pool, a slot in a cluster pool, where a node refuses a
/// multi-key command across slots even when it owns them all).
/// </summary>
internal sealed class PoolRouting
{
    /// <summary>No server serves the slot: requests for it fail closed.</summary>
    public const short Unserved = -1;

    private readonly ServerEndpoint[] _servers;
    // Cluster pools: the server index serving each of the 16384 slots, or Unserved. Null in twemproxy pools.
    private readonly short[]? _slotOwner;

    public PoolRouting(PoolConfig config, ServerEndpoint[] servers, bool[]? live = null)
    {
        _servers = servers;
        var flags = live ?? Array.ConvertAll(servers, _ => true);
        Live = flags;
        Router = KeyRouter.Create(config, flags);
    }

    /// <summary>A Redis Cluster pool's snapshot: its masters, and the server index of each slot.</summary>
    public PoolRouting(ServerEndpoint[] servers, short[] slotOwner, long version)
    {
        _servers = servers;
        _slotOwner = slotOwner;
        Live = Array.ConvertAll(servers, _ => true);
        Version = version;
        ServedSlots = slotOwner.Count(s => s != Unserved); // counted once: the snapshot never changes
    }

    /// <summary>Which servers receive keys in this snapshot (false: ejected by auto_eject_hosts).</summary>
    public IReadOnlyList<bool> Live { get; }

    public IReadOnlyList<ServerEndpoint> Servers => _servers;

    /// <summary>The twemproxy key router (null in a cluster pool).</summary>
    public KeyRouter? Router { get; }

    /// <summary>True in a Redis Cluster pool: keys are placed by slot.</summary>
    public bool IsCluster => _slotOwner is not null;

    /// <summary>Cluster pools: counts slot-map changes, so a client can tell that routing moved under its requests in flight.</summary>
    public long Version { get; }

    /// <summary>
    /// True when every request goes to the one server as it is (no key routing, no splitting): a twemproxy pool of one
    /// server. Never in a cluster pool, where even one node needs the slot checks (and an unserved slot fails closed).
    /// </summary>
    public bool IsSingleServer => _slotOwner is null && _servers.Length == 1;

    /// <summary>How many placements there are: servers in a twemproxy pool, 16384 slots in a cluster pool.</summary>
    public int PlacementCount => _slotOwner?.Length ?? _servers.Length;

    /// <summary>The placement of <paramref name="key"/>: its slot in a cluster pool, its server's index otherwise (-1: no live server).</summary>
    public int PlacementOf(ReadOnlySpan<byte> key) => _slotOwner is null ? Router!.ServerFor(key) : ClusterSlot.Of(key);

    /// <summary>The server for a placement, or null when none serves it (no live server, or an unserved slot).</summary>
    public ServerEndpoint? ServerOfPlacement(int placement)
    {
        if (placement < 0) return null;
        if (_slotOwner is null) return _servers[placement];
        short index = _slotOwner[placement];
        return index == Unserved ? null : _servers[index];
    }

    /// <summary>The server that owns <paramref name="key"/>, or null when none does.</summary>
    public ServerEndpoint? ServerFor(ReadOnlySpan<byte> key) => ServerOfPlacement(PlacementOf(key));

    /// <summary>The server for commands without keys (the first one, as twemproxy has no keyless routing).</summary>
    public ServerEndpoint Default => _servers[0];

    /// <summary>Cluster pools: the server index of each slot (a copy is patched when a MOVED names a new owner).</summary>
    internal ReadOnlySpan<short> SlotOwners => _slotOwner;

    /// <summary>How many slots some server serves (16384 in a healthy cluster; a twemproxy pool serves everything).</summary>
    public int ServedSlots { get; } = ClusterSlot.Count;

    /// <summary>
    /// The error for a key with no server: in a cluster pool Redis's own CLUSTERDOWN text for a slot no node serves
    /// (fail closed), in a twemproxy pool that no server is live.
    /// </summary>
    public string NoServerError(string pool) => IsCluster
        ? "CLUSTERDOWN Hash slot not served"
        : $"ERR rampart: pool '{pool}' has no live server";
}
