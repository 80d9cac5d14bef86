using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Routing;

namespace Rampart.Proxy.Pools;

/// <summary>
/// Where a pool's keys go: an immutable snapshot of its servers and key placement (twemproxy's hash, hash tag and
/// distribution), swapped whole when the topology changes (reload, ejection, failover), so the request path reads it
/// without locks.
/// </summary>
internal sealed class PoolRouting
{
    private readonly ServerEndpoint[] _servers;

    public PoolRouting(PoolConfig config, ServerEndpoint[] servers, bool[]? live = null)
    {
        _servers = servers;
        var flags = live ?? Array.ConvertAll(servers, _ => true);
        Live = flags;
        Router = KeyRouter.Create(config, flags);
    }

    /// <summary>Which servers receive keys in this snapshot (false: ejected by auto_eject_hosts).</summary>
    public IReadOnlyList<bool> Live { get; }

    public IReadOnlyList<ServerEndpoint> Servers => _servers;
    public KeyRouter Router { get; }

    /// <summary>The server that owns <paramref name="key"/>, or null when no server is live.</summary>
    public ServerEndpoint? ServerFor(ReadOnlySpan<byte> key)
    {
        int index = Router.ServerFor(key);
        return index < 0 ? null : _servers[index];
    }

    /// <summary>The server for commands without keys (the first one, as twemproxy has no keyless routing).</summary>
    public ServerEndpoint Default => _servers[0];
}
