namespace Rampart.Proxy.Routing;

/// <summary>
/// The key hash functions of twemproxy's <c>hash:</c> setting, in the order of its HASH_CODEC (nc_hashkit.h).
/// </summary>
public enum HashKind
{
    OneAtATime,
    Md5,
    Crc16,
    Crc32,
    Crc32a,
    Fnv1_64,
    Fnv1a_64,
    Fnv1_32,
    Fnv1a_32,
    Hsieh,
    Murmur,
    Jenkins,
}

/// <summary>Config names of <see cref="HashKind"/>, exactly as nutcracker.yml spells them.</summary>
public static class HashKinds
{
    private static readonly string[] Names =
    [
        "one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh",
        "murmur", "jenkins",
    ];

    /// <summary>Every accepted name, in twemproxy's order.</summary>
    public static IReadOnlyList<string> ConfigNames => Names;

    /// <summary>
    /// Parses a <c>hash:</c> value. Like twemproxy's conf_set_hash (string_compare) the match is exact and
    /// case-sensitive: "FNV1A_64" is not a valid hash there, so it is not one here.
    /// </summary>
    public static bool TryParse(string? name, out HashKind kind)
    {
        for (int i = 0; i < Names.Length; i++)
        {
            if (string.Equals(Names[i], name, StringComparison.Ordinal))
            {
                kind = (HashKind)i;
                return true;
            }
        }
        kind = default;
        return false;
    }

    public static string ToConfigName(this HashKind kind) =>
        (uint)kind < (uint)Names.Length ? Names[(int)kind] : throw new ArgumentOutOfRangeException(nameof(kind));
}
