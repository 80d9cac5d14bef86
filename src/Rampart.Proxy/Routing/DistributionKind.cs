namespace Rampart.Proxy.Routing;

/// <summary>twemproxy's <c>distribution:</c> values (DIST_CODEC in nc_hashkit.h).</summary>
public enum DistributionKind
{
    Ketama,
    Modula,
    Random,
}

public static class DistributionKinds
{
    private static readonly string[] Names = ["ketama", "modula", "random"];

    public static IReadOnlyList<string> ConfigNames => Names;

    /// <summary>Exact, case-sensitive match, as conf_set_distribution does.</summary>
    public static bool TryParse(string? name, out DistributionKind kind)
    {
        for (int i = 0; i < Names.Length; i++)
        {
            if (string.Equals(Names[i], name, StringComparison.Ordinal))
            {
                kind = (DistributionKind)i;
                return true;
            }
        }
        kind = default;
        return false;
    }

    public static string ToConfigName(this DistributionKind kind) =>
        (uint)kind < (uint)Names.Length ? Names[(int)kind] : throw new ArgumentOutOfRangeException(nameof(kind));
}
