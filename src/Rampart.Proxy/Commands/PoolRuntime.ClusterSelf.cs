namespace Rampart.Proxy.Pools;

/// <summary>
/// What a cluster pool tells cluster-aware clients about itself (Commands/ClusterSelfAnswers), kept beside the answers
/// as a part of the pool they describe.
/// </summary>
internal sealed partial class PoolRuntime
{
    /// <summary>
    /// How many of the 16384 slots this pool can serve now: CLUSTER INFO's cluster_slots_ok, and cluster_state:ok only
    /// when all are: the slots the trusted slot map gives a master (none before the first map is trusted; a slot no
    /// healthy master serves fails closed, and the client is told the cluster is down there).
    /// </summary>
    public int ServedSlots => Routing.ServedSlots;
}
