namespace Rampart.Proxy.Topology;

/// <summary>
/// What one Sentinel (identified by its id when it gave one, else its address) said about one master name: its
/// address and config epoch, or why it said nothing.
/// </summary>
internal readonly record struct SentinelAnswer(string Sentinel, string? Host, int Port, long Epoch, string? Error)
{
    /// <summary>Replicas this Sentinel knows for the master (SENTINEL REPLICAS), connected or not.</summary>
    public int KnownReplicas => Replicas.Count;

    /// <summary>Each replica this Sentinel knows: its address, and what the Sentinel says is wrong with it (null: nothing).</summary>
    public IReadOnlyList<(string Address, string? Problem)> Replicas { get; init; } = [];

    public string? Address => Host is null ? null : $"{Host}:{Port}";
}

/// <summary>The outcome of counting Sentinel answers for one master name.</summary>
internal readonly record struct MasterVote(string? Host, int Port, int Agree, int Needed, int Asked, string? Reason)
{
    public bool HasQuorum => Host is not null;
}

/// <summary>
/// The fail-closed rule: an address is a candidate only when at least <c>quorum</c> Sentinels name it. When two
/// addresses each reach a quorum (possible only with a quorum at or below half), the one backed by the highest
/// config epoch wins, since Sentinel bumps the epoch on every failover; a tie decides nothing.
/// </summary>
internal static class MasterVoting
{
    public static MasterVote Count(string masterName, IReadOnlyList<SentinelAnswer> answers, int quorum)
    {
        // Each Sentinel votes once, however many addresses it was reached under (configured and learned).
        var distinct = answers.GroupBy(a => a.Sentinel).Select(g => g.First()).ToList();
        var byAddress = distinct.Where(a => a.Address is not null).GroupBy(a => a.Address!).ToList();
        int best = byAddress.Count == 0 ? 0 : byAddress.Max(g => g.Count());
        var backed = byAddress.Where(g => g.Count() >= quorum).ToList();
        if (backed.Count == 0)
            return new MasterVote(null, 0, best, quorum, distinct.Count,
                $"ERR rampart: no confirmed master for '{masterName}' ({best} of {distinct.Count} sentinels agree, {quorum} needed)");

        var ranked = backed.Select(g => (Group: g, Epoch: g.Max(a => a.Epoch))).OrderByDescending(x => x.Epoch).ToList();
        if (ranked.Count > 1 && ranked[0].Epoch == ranked[1].Epoch)
            return new MasterVote(null, 0, best, quorum, distinct.Count,
                $"ERR rampart: no confirmed master for '{masterName}' (sentinels name {ranked.Count} different masters at the same epoch)");
        var winner = ranked[0].Group.First();
        return new MasterVote(winner.Host, winner.Port, ranked[0].Group.Count(), quorum, distinct.Count, null);
    }
}

/// <summary>A replica connected to a confirmed master, and how many bytes of the replication stream it lacks.</summary>
internal sealed record ReplicaInfo(string Address, long LagBytes);

/// <summary>
/// A confirmed master's replicas: the connected ones (from its ROLE reply), how many Sentinel knows, and those Sentinel
/// knows that the master does not list, with the reason Sentinel gives.
/// </summary>
internal sealed record ReplicaSet(IReadOnlyList<ReplicaInfo> Connected, int Known)
{
    public static ReplicaSet None { get; } = new([], 0);

    /// <summary>Replicas the Sentinels know that are not connected to the master, and why (as far as the Sentinels tell).</summary>
    public IReadOnlyList<(string Address, string Reason)> NotConnected { get; init; } = [];
    public long MaxLagBytes => Connected.Count == 0 ? 0 : Connected.Max(r => r.LagBytes);
}

/// <summary>What the last check of a Sentinel shard found: how many Sentinels named which master, and the quorum.</summary>
internal sealed record SentinelView(string? Master, int Agree, int Asked, int Needed, DateTimeOffset CheckedAt);
