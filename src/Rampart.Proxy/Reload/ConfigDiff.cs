using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Reload;

/// <summary>One pool present before and after a reload, with what changed in it (human-readable, one item per key).</summary>
internal sealed record PoolChange(PoolConfig Old, PoolConfig New, IReadOnlyList<string> Changes)
{
    public bool ListenChanged => Old.Listen != New.Listen;
}

/// <summary>
/// The difference between the running configuration and a newly loaded one: pools added, removed and changed (key by
/// key), and process settings changed. Line numbers are ignored: moving a block in the file changes nothing.
/// </summary>
internal sealed class ConfigDiff
{
    public required IReadOnlyList<PoolConfig> Added { get; init; }
    public required IReadOnlyList<PoolConfig> Removed { get; init; }
    public required IReadOnlyList<PoolChange> Changed { get; init; }
    public required IReadOnlyList<string> SettingsChanges { get; init; }

    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0 && SettingsChanges.Count == 0;

    public static ConfigDiff Compute(ProxyConfig old, ProxyConfig next)
    {
        var oldPools = old.Pools.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var nextNames = next.Pools.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var changed = new List<PoolChange>();
        foreach (var pool in next.Pools)
        {
            if (!oldPools.TryGetValue(pool.Name, out var before)) continue;
            var changes = PoolChanges(before, pool);
            if (changes.Count > 0) changed.Add(new PoolChange(before, pool, changes));
        }
        return new ConfigDiff
        {
            Added = next.Pools.Where(p => !oldPools.ContainsKey(p.Name)).ToList(),
            Removed = old.Pools.Where(p => !nextNames.Contains(p.Name)).ToList(),
            Changed = changed,
            SettingsChanges = SettingsChangesOf(old.Settings, next.Settings),
        };
    }

    /// <summary>One line for the reload log: "pool 'b' added (listen ...); pool 'a': servers +x, weight y 1->2; ...".</summary>
    public string Describe()
    {
        if (IsEmpty) return "no changes";
        var parts = new List<string>();
        foreach (var pool in Added) parts.Add($"pool '{pool.Name}' added (listen {pool.Listen}, {pool.Servers.Count} server(s))");
        foreach (var pool in Removed) parts.Add($"pool '{pool.Name}' removed (listener closed, clients drain)");
        foreach (var change in Changed) parts.Add($"pool '{change.New.Name}': {string.Join(", ", change.Changes)}");
        if (SettingsChanges.Count > 0) parts.Add($"rampart: {string.Join(", ", SettingsChanges)}");
        return string.Join("; ", parts);
    }

    internal static List<string> PoolChanges(PoolConfig a, PoolConfig b)
    {
        var changes = new List<string>();
        void Key<T>(string key, T before, T after)
        {
            if (!EqualityComparer<T>.Default.Equals(before, after)) changes.Add($"{key} {Show(before)} -> {Show(after)}");
        }
        Key("listen", a.Listen, b.Listen);
        Key("backlog", a.Backlog, b.Backlog);
        Key("client_connections", a.ClientConnections, b.ClientConnections);
        Key("timeout", a.TimeoutMs, b.TimeoutMs);
        Key("preconnect", a.Preconnect, b.Preconnect);
        Key("server_connections", a.ServerConnections, b.ServerConnections);
        Key("pinned_connections", a.PinnedConnections, b.PinnedConnections);
        Key("pinned_reserve", a.PinnedReserve, b.PinnedReserve);
        Key("commands", a.Commands, b.Commands);
        Key("pinned_min_idle", a.PinnedMinIdle, b.PinnedMinIdle);
        Key("tcpkeepalive", a.TcpKeepalive, b.TcpKeepalive);
        Key("hash", a.Hash, b.Hash);
        Key("hash_tag", a.HashTag, b.HashTag);
        Key("distribution", a.Distribution, b.Distribution);
        Key("auto_eject_hosts", a.AutoEjectHosts, b.AutoEjectHosts);
        Key("server_retry_timeout", a.ServerRetryTimeoutMs, b.ServerRetryTimeoutMs);
        Key("server_failure_limit", a.ServerFailureLimit, b.ServerFailureLimit);
        if (a.RedisAuth != b.RedisAuth) changes.Add("redis_auth changed"); // never log a password
        if (!(a.Users ?? []).SequenceEqual(b.Users ?? []))
            changes.Add($"users [{string.Join(", ", a.Users ?? [])}] -> [{string.Join(", ", b.Users ?? [])}]");
        Key("redis_db", a.RedisDb, b.RedisDb);
        Key("allow_flush", a.AllowFlush, b.AllowFlush);
        Key("read_from", ReadFromNames.Name(a.ReadFrom), ReadFromNames.Name(b.ReadFrom));
        Key("max_replica_lag", a.MaxReplicaLagMs, b.MaxReplicaLagMs);
        Key("min_replicas_ack", a.MinReplicasAck, b.MinReplicasAck);
        Key("ack_timeout", a.AckTimeoutMs, b.AckTimeoutMs);
        Key("read_your_writes", a.ReadYourWrites, b.ReadYourWrites);
        if (!a.Replicas.Select(r => r.Endpoint).SequenceEqual(b.Replicas.Select(r => r.Endpoint)))
            changes.Add($"replicas {ShowServers(a.Replicas)} -> {ShowServers(b.Replicas)}");
        Key("client_output_buffer", a.ClientOutputBufferLimit, b.ClientOutputBufferLimit);
        Key("client_idle_timeout", ShowMs(a.ClientIdleTimeoutMs), ShowMs(b.ClientIdleTimeoutMs));
        Key("auth_timeout", ShowMs(a.AuthTimeoutMs), ShowMs(b.AuthTimeoutMs));
        Key("max_connections_per_ip", a.MaxConnectionsPerIp, b.MaxConnectionsPerIp);
        Key("max_request_size", a.MaxRequestSize, b.MaxRequestSize);
        if (!SameAllow(a.Allow, b.Allow))
            changes.Add($"allow {ShowAllow(a.Allow)} -> {ShowAllow(b.Allow)}");
        // A cluster pool's servers are its seeds: its block says what changed, in the block's own words.
        if (a.Cluster is null && b.Cluster is null) ServerChanges(a.Servers, b.Servers, changes);
        else ClusterChanges(a, b, changes);
        if (!SameSentinel(a.Sentinel, b.Sentinel)) changes.Add("sentinel block changed");
        if (!SameTls(a.Tls, b.Tls)) changes.Add(b.Tls is null ? "tls listener removed" : a.Tls is null ? $"tls listener added ({b.Tls.Listen})" : "tls block changed");
        if (!SameServerTls(a.ServerTls, b.ServerTls)) changes.Add("server_tls changed");
        return changes;
    }

    /// <summary>Two <c>tls:</c> blocks alike but for where they sit in the file.</summary>
    internal static bool SameTls(ListenerTlsConfig? a, ListenerTlsConfig? b) =>
        a is null || b is null ? a is null && b is null : a with { Line = 0 } == b with { Line = 0 };

    /// <summary>Two <c>server_tls:</c> blocks alike but for where they sit in the file.</summary>
    internal static bool SameServerTls(ServerTlsConfig? a, ServerTlsConfig? b) =>
        a is null || b is null ? a is null && b is null : a with { Line = 0 } == b with { Line = 0 };

    private static void ServerChanges(IReadOnlyList<ServerConfig> before, IReadOnlyList<ServerConfig> after, List<string> changes)
    {
        var old = before.ToDictionary(ServerPlan.Identity);
        var next = after.ToDictionary(ServerPlan.Identity);
        foreach (var server in after)
        {
            if (!old.TryGetValue(ServerPlan.Identity(server), out var was)) changes.Add($"server +{server.Label}");
            else if (was.Weight != server.Weight) changes.Add($"weight {server.Label} {was.Weight} -> {server.Weight}");
        }
        foreach (var server in before)
            if (!next.ContainsKey(ServerPlan.Identity(server))) changes.Add($"server -{server.Label}");
        // Same servers, another order: modula and random place keys by position.
        if (changes.Count == 0 || !changes.Any(c => c.StartsWith("server ", StringComparison.Ordinal)))
        {
            var order = before.Select(ServerPlan.Identity).ToList();
            var nextOrder = after.Select(ServerPlan.Identity).ToList();
            if (order.Count == nextOrder.Count && !order.SequenceEqual(nextOrder)) changes.Add("server order");
        }
    }

    /// <summary>
    /// A cluster block's changes key by key ("cluster nodes [a] -> [a, b]", "cluster password changed", never the
    /// password), or the switch between a server list and a cluster.
    /// </summary>
    private static void ClusterChanges(PoolConfig a, PoolConfig b, List<string> changes)
    {
        if (a.Cluster is not { } before)
        {
            changes.Add($"servers {ShowServers(a.Servers)} -> cluster nodes {ShowServers(b.Servers)}");
            return;
        }
        if (b.Cluster is not { } after)
        {
            changes.Add($"cluster nodes {ShowServers(a.Servers)} -> servers {ShowServers(b.Servers)}");
            return;
        }
        var nodes = before.Nodes.Select(n => n.ToString()).ToList();
        var nextNodes = after.Nodes.Select(n => n.ToString()).ToList();
        if (!nodes.SequenceEqual(nextNodes)) changes.Add($"cluster nodes [{string.Join(", ", nodes)}] -> [{string.Join(", ", nextNodes)}]");
        if (before.User != after.User) changes.Add($"cluster user {Show(before.User)} -> {Show(after.User)}");
        if (before.Password != after.Password) changes.Add("cluster password changed"); // never log a password
        if (before.RefreshIntervalMs != after.RefreshIntervalMs)
            changes.Add($"cluster refresh_interval {before.RefreshIntervalMs} -> {after.RefreshIntervalMs}");
    }

    private static string ShowServers(IReadOnlyList<ServerConfig> servers) => $"[{string.Join(", ", servers.Select(s => s.Label))}]";

    private static bool SameAllow(IReadOnlyList<System.Net.IPNetwork>? a, IReadOnlyList<System.Net.IPNetwork>? b) =>
        a is null ? b is null : b is not null && a.SequenceEqual(b);

    private static string ShowAllow(IReadOnlyList<System.Net.IPNetwork>? allow) =>
        allow is null ? "(everyone)" : $"[{string.Join(", ", allow)}]";

    private static bool SameSentinel(SentinelConfig? a, SentinelConfig? b)
    {
        if (a is null || b is null) return a is null && b is null;
        return a.Quorum == b.Quorum && a.Password == b.Password && a.CheckIntervalMs == b.CheckIntervalMs && a.Tls == b.Tls
               && a.Addresses.Select(x => x.ToString()).SequenceEqual(b.Addresses.Select(x => x.ToString()));
    }

    private static List<string> SettingsChangesOf(RampartSettings a, RampartSettings b)
    {
        var changes = new List<string>();
        if (a.MaxConnections != b.MaxConnections) changes.Add($"max_connections {Show(a.MaxConnections)} -> {Show(b.MaxConnections)}");
        if (a.AuthThrottle != b.AuthThrottle) changes.Add($"auth_throttle {a.AuthThrottle} -> {b.AuthThrottle}");
        if (a.WatchConfig != b.WatchConfig) changes.Add($"watch_config {Show(a.WatchConfig)} -> {Show(b.WatchConfig)}");
        if (a.AdminListen != b.AdminListen || a.AdminUser != b.AdminUser || a.AdminPassword != b.AdminPassword || a.AdminTls != b.AdminTls)
            changes.Add("admin changed (applies at the next restart)");
        if (a.Acl?.Text != b.Acl?.Text) changes.Add("acl users changed"); // never log a password hash
        if (a.EventLoops != b.EventLoops)
            changes.Add($"event_loops {a.EventLoops?.ToString() ?? "default"} -> {b.EventLoops?.ToString() ?? "default"} (applies at the next restart)");
        return changes;
    }

    /// <summary>A duration of the abuse limits as the reload log shows it: "off", "300s" or "500ms".</summary>
    private static string ShowMs(long ms) => ms == 0 ? "off" : ms % 1000 == 0 ? $"{ms / 1000}s" : $"{ms}ms";

    private static string Show<T>(T value) => value switch
    {
        null => "none",
        bool flag => flag ? "true" : "false",
        _ => value.ToString() ?? "none",
    };
}
