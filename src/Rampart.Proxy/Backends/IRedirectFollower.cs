namespace Rampart.Proxy.Backends;

/// <summary>
/// Follows Redis Cluster redirections for a cluster pool's servers (Pools.ClusterRedirects implements it): a server
/// reader that meets a MOVED, ASK or TRYAGAIN reply hands the request over instead of completing it, and the follower
/// sends it where the cluster says, on the connection of the request's own client, keeping its place in that
/// client's reply order. Backends knows only this interface, not the pool or the client behind it.
/// </summary>
internal interface IRedirectFollower
{
    /// <summary>True for an error reply the follower takes over (MOVED, ASK, TRYAGAIN within its retry bound).</summary>
    bool IsRedirect(ReadOnlySpan<byte> reply);

    /// <summary>
    /// Sends <paramref name="request"/> on as <paramref name="reply"/> (from <paramref name="from"/>) says, or completes
    /// it with that reply when it cannot be followed. Called on the reader's event loop, once the request left its link.
    /// </summary>
    void Follow(ServerEndpoint from, ProxyRequest request, ReadOnlySpan<byte> reply);
}
