namespace Rampart.Proxy.Topology;

/// <summary>
/// Where a pool learns its shards' masters: it watches them and publishes each shard's <see cref="MasterState"/> on
/// the shard's server (<see cref="Backends.ServerEndpoint.Publish"/>). Today a <see cref="SentinelMonitor"/>; a Redis
/// Cluster slot map is the next source to plug in here. Without a source, a pool's servers keep their configured
/// addresses (<see cref="MasterState.Fixed"/>).
/// </summary>
internal interface ITopologySource : IAsyncDisposable
{
    /// <summary>Starts watching (checks at once, then on events and at its interval).</summary>
    void Start();
}
