using System.Text;

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

    /// <summary>
    /// Checks arguments shared by every distribution, counts live servers and their total weight, and returns the
    /// order in which twemproxy holds the servers.
    /// </summary>
    /// <remarks>
    /// nutcracker does not keep servers in config order: conf_validate_server sorts each pool's servers by name
    /// (array_sort with string_compare: shorter name first, then bytes as unsigned, like strncmp) to reject
    /// duplicates, and pool->server keeps that order. Modula slots and random slots follow it, and so do the
    /// insertion order of ketama points (which breaks ties between equal point values). Two servers with the same
    /// name are an error there ("has servers with same name"), and here.
    /// </remarks>
    private protected static (int Live, long TotalWeight, int[] Order) Survey(
        IReadOnlyList<(string Name, int Weight)> servers, ReadOnlySpan<bool> live)
    {
        ArgumentNullException.ThrowIfNull(servers);
        if (servers.Count == 0) throw new ArgumentException("a pool needs at least one server", nameof(servers));
        if (!live.IsEmpty && live.Length != servers.Count)
            throw new ArgumentException($"{live.Length} live flags for {servers.Count} servers", nameof(servers));
        int nlive = 0;
        long total = 0;
        var names = new byte[servers.Count][];
        for (int i = 0; i < servers.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(servers[i].Name);
            if (servers[i].Weight <= 0)
                throw new ArgumentException($"server {i} '{servers[i].Name}' has weight {servers[i].Weight}; weights must be >= 1", nameof(servers));
            names[i] = Encoding.UTF8.GetBytes(servers[i].Name);
            if (IsLive(live, i))
            {
                nlive++;
                total += servers[i].Weight;
            }
        }
        var order = new int[servers.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) => CompareNames(names[a], names[b]));
        for (int i = 1; i < order.Length; i++)
        {
            if (CompareNames(names[order[i - 1]], names[order[i]]) == 0)
                throw new ArgumentException($"servers {order[i - 1]} and {order[i]} have the same name '{servers[order[i]].Name}'", nameof(servers));
        }
        return (nlive, total, order);
    }

    /// <summary>twemproxy's string_compare: by length, then byte by byte (unsigned).</summary>
    internal static int CompareNames(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b) =>
        a.Length != b.Length ? a.Length.CompareTo(b.Length) : a.SequenceCompareTo(b);

    /// <summary>Config indices in twemproxy's server order (see <see cref="Survey"/>).</summary>
    public static int[] TwemproxyOrder(IReadOnlyList<(string Name, int Weight)> servers) => Survey(servers, default).Order;

    private protected static bool IsLive(ReadOnlySpan<bool> live, int index) => live.IsEmpty || live[index];
}
