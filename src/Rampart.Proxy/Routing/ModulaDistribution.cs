namespace Rampart.Proxy.Routing;

/// <summary>
/// twemproxy's modula distribution (nc_modula.c): every live server appears <c>weight</c> times in a list of
/// <c>total live weight</c> slots, in twemproxy's server order — sorted by ketama name (shorter first, then bytewise),
/// not config order, because nutcracker sorts the servers while checking for duplicate names. A key goes to slot
/// <c>hash % slots</c>. Ejecting a server
/// rebuilds the list from the live servers, which moves most keys.
/// </summary>
public sealed class ModulaDistribution : KeyDistribution
{
    private readonly int[] _slots;

    private ModulaDistribution(int serverCount, int liveServerCount, int[] slots) : base(serverCount, liveServerCount) =>
        _slots = slots;

    public override DistributionKind Kind => DistributionKind.Modula;

    /// <summary>The server index of each slot.</summary>
    public ReadOnlySpan<int> Slots => _slots;

    public static ModulaDistribution Build(IReadOnlyList<(string Name, int Weight)> servers, ReadOnlySpan<bool> live = default)
    {
        var (nlive, totalWeight, order) = Survey(servers, live);
        if (totalWeight > Array.MaxLength) throw new ArgumentException("total weight too large for modula", nameof(servers));
        var slots = new int[totalWeight];
        int n = 0;
        foreach (int s in order)
        {
            if (!IsLive(live, s)) continue;
            for (int w = 0; w < servers[s].Weight; w++) slots[n++] = s;
        }
        return new ModulaDistribution(servers.Count, nlive, slots);
    }

    public override int ServerIndex(uint hash)
    {
        int[] slots = _slots;
        return slots.Length == 0 ? -1 : slots[(int)(hash % (uint)slots.Length)];
    }
}
