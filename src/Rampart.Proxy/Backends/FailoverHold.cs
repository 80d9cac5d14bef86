namespace Rampart.Proxy.Backends;

/// <summary>
/// The failover hold of one shard, as a deadline carried in its <see cref="Topology.MasterState"/>: from the first
/// failover event until the new master is confirmed (or the failover aborted), or <see cref="LimitMs"/> later, its
/// requests wait instead of reaching a master that is being replaced. A value: starting or ending a hold is a new
/// MasterState swapped in whole (ServerEndpoint.BeginHold/EndHold); failing or releasing what waited is the server's.
/// </summary>
internal readonly record struct FailoverHold(long UntilMs)
{
    /// <summary>Longest a failover may hold traffic; what waited longer gets -TRYAGAIN.</summary>
    public const int LimitMs = 5_000;

    /// <summary>No hold (the request path then reads no clock).</summary>
    public static FailoverHold None => default;

    /// <summary>True when a hold is set, whether or not its limit has passed.</summary>
    public bool IsSet => UntilMs != 0;

    /// <summary>True from the start until the hold is ended or its limit passes.</summary>
    public bool IsHoldingAt(long nowMs) => UntilMs != 0 && nowMs < UntilMs;

    /// <summary>
    /// A hold started at <paramref name="nowMs"/>, or null when one is already holding: another failover event does
    /// not extend it (the limit counts from the first).
    /// </summary>
    public FailoverHold? BeginAt(long nowMs) => IsHoldingAt(nowMs) ? null : new FailoverHold(nowMs + LimitMs);

    /// <summary>True when a hold is still set but its limit has passed (the sweep ends it and fails what waited).</summary>
    public bool HasExpiredAt(long nowMs) => UntilMs != 0 && nowMs >= UntilMs;
}
