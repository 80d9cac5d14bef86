using System.Net;

namespace Rampart.Proxy.Topology;

/// <summary>
/// What a topology source knows of one shard's master, published whole with one volatile swap on its server
/// (<see cref="Backends.ServerEndpoint.Publish"/>), as YARP swaps its ClusterState: the confirmed address or why there is
/// none (fail closed), the vote that decided it, and the master's replicas. A reader takes one reference and sees one
/// consistent state, never an address from one check with the replicas of another, or a hold from another master.
/// </summary>
/// <param name="Hold">A failover in progress: requests wait until the new master is confirmed (or the hold's limit).</param>
internal sealed record MasterState(EndPoint? Address, string? NoMasterReason, SentinelView? Vote, ReplicaSet Replicas,
    Backends.FailoverHold Hold = default)
{
    /// <summary>A plain server (no topology source): its configured address, always.</summary>
    public static MasterState Fixed(EndPoint address) => new(address, null, null, ReplicaSet.None);

    /// <summary>A master confirmed by the source (a quorum of Sentinels and the node's own ROLE).</summary>
    public static MasterState Confirmed(EndPoint address, SentinelView? vote, ReplicaSet replicas) => new(address, null, vote, replicas);

    /// <summary>No master can be confirmed: every request for the shard fails with <paramref name="reason"/>.</summary>
    public static MasterState None(string reason, SentinelView? vote) => new(null, reason, vote, ReplicaSet.None);

    /// <summary>True when requests may go to <see cref="Address"/>.</summary>
    public bool HasMaster => NoMasterReason is null && Address is not null;
}
