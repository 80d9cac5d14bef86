namespace Rampart.Proxy.Configuration;

/// <summary>
/// What a pool with a <c>cluster:</c> block may not also say: the cluster decides where keys live, which database
/// there is and how nodes authenticate, so the twemproxy keys that decide those would be ignored or contradicted. Each
/// is refused with its reason rather than silently dropped, and the seeds become the pool's servers so that code
/// listing a pool's servers keeps working.
/// </summary>
internal static class ClusterPoolRules
{
    private const string Placement = "the cluster decides placement: each key goes to the node serving its CRC16 slot";

    /// <summary>Keys a cluster pool refuses whatever their value, with the reason.</summary>
    private static readonly (string Key, string Reason)[] Refused =
    [
        ("servers", "the cluster's nodes are learned from its seeds (cluster: nodes:)"),
        ("sentinel", "a Redis Cluster fails over by itself, with no sentinels"),
        ("hash", Placement),
        ("distribution", Placement),
        ("hash_tag", "the cluster always uses {...} hash tags"),
        ("auto_eject_hosts", Placement + "; a failed master's slots move to its replica and Rampart follows the slot map"),
        ("redis_auth", "use the cluster block's password (and user) to authenticate with the nodes"),
        ("redis_auth_file", "use the cluster block's password_file (and user) to authenticate with the nodes"),
    ];

    public static bool HasClusterKey(YamlMapping pool) => pool.Entries.Any(e => e.Name == "cluster");

    /// <summary>Reports each key the pool may not have beside <c>cluster:</c>, and gives the seeds as servers.</summary>
    /// <param name="cluster">The block as read, or null when it had errors of its own (already reported).</param>
    public static IReadOnlyList<ServerConfig> Check(string context, YamlMapping pool, ClusterConfig? cluster, ErrorSink errors)
    {
        int clusterLine = pool.Entries.First(e => e.Name == "cluster").Key.Line;
        foreach (var (key, reason) in Refused)
        {
            if (pool.Entries.FirstOrDefault(e => e.Name == key) is not { } entry) continue;
            string where = key is "servers" or "sentinel" ? $"{key} (line {entry.Key.Line}) and cluster (line {clusterLine}) cannot be used together" : $"{key} cannot be set in a cluster pool (cluster at line {clusterLine})";
            errors.Add(entry.Key.Line, $"{context}: {where}: {reason}");
        }
        // Database 0 is the only one a cluster has; writing it is harmless, anything else cannot be served. A value that is
        // not a number already has its own error.
        if (pool.Entries.FirstOrDefault(e => e.Name == "redis_db") is { Value: YamlScalar { Value: var db } } redisDb
            && int.TryParse(db, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) && n != 0)
            errors.Add(redisDb.Key.Line, $"{context}: redis_db {db} cannot be set in a cluster pool (cluster at line {clusterLine}): a Redis Cluster has only database 0");

        return cluster is null ? [] : cluster.Nodes.Select(n => new ServerConfig { Host = n.Host, Port = n.Port, Line = n.Line }).ToList();
    }
}
