using Rampart.Proxy.Backends;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Routing;

/// <summary>
/// Where a pool's keys go: an immutable snapshot of its servers and key placement, swapped whole when the
/// topology changes (reload, ejection, failover), so the request path reads it without locks.
/// </summary>
internal sealed class PoolRouting
{
    public PoolRouting(PoolConfig config, ServerEndpoint[] servers)
    {
        Servers = servers;
        if (servers.Length != 1)
            throw new NotSupportedException($"pool '{config.Name}': key sharding over {servers.Length} servers is not available yet");
    }

    public IReadOnlyList<ServerEndpoint> Servers { get; }

    /// <summary>The server that owns <paramref name="key"/>.</summary>
    public ServerEndpoint ServerFor(ReadOnlySpan<byte> key) => Servers[0];

    /// <summary>The server for commands without keys.</summary>
    public ServerEndpoint Default => Servers[0];
}
