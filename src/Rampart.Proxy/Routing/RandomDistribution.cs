namespace Rampart.Proxy.Routing;

/// <summary>
/// twemproxy's random distribution (nc_random.c): each request goes to a uniformly random live server, ignoring
/// the key and the weights (random_update gives every live server one slot whatever its weight).
/// </summary>
public sealed class RandomDistribution : KeyDistribution
{
    private readonly int[] _live;

    private RandomDistribution(int serverCount, int[] live) : base(serverCount, live.Length) => _live = live;

    public override DistributionKind Kind => DistributionKind.Random;

    public static RandomDistribution Build(IReadOnlyList<(string Name, int Weight)> servers, ReadOnlySpan<bool> live = default)
    {
        var (nlive, _, order) = Survey(servers, live);
        var indices = new int[nlive];
        int n = 0;
        foreach (int s in order)
            if (IsLive(live, s)) indices[n++] = s;
        return new RandomDistribution(servers.Count, indices);
    }

    /// <summary>A random live server; <paramref name="hash"/> is ignored. Thread-safe (Random.Shared).</summary>
    public override int ServerIndex(uint hash)
    {
        int[] live = _live;
        return live.Length switch
        {
            0 => -1,
            1 => live[0],
            _ => live[Random.Shared.Next(live.Length)],
        };
    }
}
