namespace Rampart.Proxy.Routing;

/// <summary>
/// An immutable placement snapshot for one pool: maps a key hash to a server index. Built once per configuration
/// (and again whenever the set of live servers changes); read on every request without locks or allocation.
/// </summary>
/// <remarks>
/// Server indices always refer to the pool's configured server list (live and dead), as twemproxy's continuum
/// entries hold the index into pool->server, never an index into the live subset.
/// </remarks>
public abstract class KeyDistribution
{
    private protected KeyDistribution(int serverCount, int liveServerCount)
    {
        ServerCount = serverCount;
        LiveServerCount = liveServerCount;
    }

    public abstract DistributionKind Kind { get; }

    /// <summary>Servers in the pool's configuration, live and dead.</summary>
    public int ServerCount { get; }

    /// <summary>Servers this snapshot places keys on.</summary>
    public int LiveServerCount { get; }

    /// <summary>The index (into the configured servers) that owns <paramref name="hash"/>; -1 when no server is live.</summary>
    public abstract int ServerIndex(uint hash);

    /// <summary>
    /// Builds the snapshot for <paramref name="servers"/> (ketama name and weight, in config order). When
    /// <paramref name="live"/> is given (one flag per server), only live servers receive keys, exactly as
    /// twemproxy's ketama_update / modula_update / random_update do with auto_eject_hosts; empty means all live.
    /// </summary>
    public static KeyDistribution Create(
        DistributionKind kind, IReadOnlyList<(string Name, int Weight)> servers, ReadOnlySpan<bool> live = default) =>
        kind switch
        {
            DistributionKind.Ketama => KetamaContinuum.Build(servers, live),
            DistributionKind.Modula => ModulaDistribution.Build(servers, live),
            DistributionKind.Random => RandomDistribution.Build(servers, live),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

    /// <summary><see cref="Create(DistributionKind, IReadOnlyList{ValueTuple{string, int}}, ReadOnlySpan{bool})"/> from a config name.</summary>
    public static KeyDistribution Create(
        string distribution, IReadOnlyList<(string Name, int Weight)> servers, ReadOnlySpan<bool> live = default) =>
        DistributionKinds.TryParse(distribution, out var kind)
            ? Create(kind, servers, live)
            : throw new ArgumentException($"'{distribution}' is not a valid distribution", nameof(distribution));

    /// <summary>Checks arguments shared by every distribution and counts live servers and their total weight.</summary>
    private protected static (int Live, long TotalWeight) Survey(
        IReadOnlyList<(string Name, int Weight)> servers, ReadOnlySpan<bool> live)
    {
        ArgumentNullException.ThrowIfNull(servers);
        if (servers.Count == 0) throw new ArgumentException("a pool needs at least one server", nameof(servers));
        if (!live.IsEmpty && live.Length != servers.Count)
            throw new ArgumentException($"{live.Length} live flags for {servers.Count} servers", nameof(live));
        int nlive = 0;
        long total = 0;
        for (int i = 0; i < servers.Count; i++)
        {
            if (servers[i].Weight <= 0)
                throw new ArgumentException($"server {i} '{servers[i].Name}' has weight {servers[i].Weight}; weights must be >= 1", nameof(servers));
            if (IsLive(live, i))
            {
                nlive++;
                total += servers[i].Weight;
            }
        }
        return (nlive, total);
    }

    private protected static bool IsLive(ReadOnlySpan<bool> live, int index) => live.IsEmpty || live[index];
}
