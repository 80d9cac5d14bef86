namespace Rampart.Proxy.Configuration;

/// <summary>
/// Where replicas come from for <c>read_from</c>: a Sentinel pool learns each master's replicas live, a single-server
/// pool lists them under <c>replicas:</c>. A setting that could not be honoured is refused with its reason, never
/// silently ignored (reads that the user expects on replicas would land on the master, or the reverse).
/// </summary>
internal static class ReplicaReadRules
{
    public static void Check(string context, YamlMapping mapping, PoolConfig pool, IReadOnlyList<ServerConfig> servers, ErrorSink errors)
    {
        var replicas = mapping.Entries.FirstOrDefault(e => e.Name == "replicas");
        var readFrom = mapping.Entries.FirstOrDefault(e => e.Name == "read_from");
        bool sentinel = mapping.Entries.Any(e => e.Name == "sentinel");
        bool cluster = ClusterPoolRules.HasClusterKey(mapping);

        if (replicas is not null)
        {
            if (sentinel || cluster)
                errors.Add(replicas.Key.Line, $"{context}: replicas cannot be listed in a {(sentinel ? "sentinel" : "cluster")} pool: its replicas are learned live");
            else if (servers.Count > 1)
                errors.Add(replicas.Key.Line, $"{context}: replicas can only be listed in a pool of one server (this one has {servers.Count}): they are that server's replicas");
        }
        if (readFrom is null || pool.ReadFrom == ReadFrom.Master) return;
        if (!sentinel && !cluster && replicas is null)
            errors.Add(readFrom.Key.Line, $"{context}: read_from {ReadFromNames.Name(pool.ReadFrom)} needs replicas: a sentinel or cluster block, or a replicas list under a pool of one server");
    }
}
