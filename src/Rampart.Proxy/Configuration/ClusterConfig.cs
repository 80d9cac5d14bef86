namespace Rampart.Proxy.Configuration;

/// <summary>
/// Rampart's <c>cluster:</c> block inside a pool, in place of <c>servers</c>: the pool fronts a Redis Cluster. The
/// nodes listed are seeds: the Topology layer asks them for the slot map and learns the rest of the cluster from it.
/// </summary>
public sealed record ClusterConfig
{
    /// <summary>Seed nodes, "host:port" (at least one; several, so that one down node does not stop the start).</summary>
    public required IReadOnlyList<ClusterNodeAddress> Nodes { get; init; }
    /// <summary>The Redis 6 ACL user Rampart authenticates as on every node, or null for the default user.</summary>
    public string? User { get; init; }
    /// <summary>The password of <see cref="User"/> (or of the default user), or null when the nodes require none.</summary>
    public string? Password { get; init; }
    /// <summary>Milliseconds between slot-map checks, besides the ones MOVED, a lost connection or a failed node cause.</summary>
    public int RefreshIntervalMs { get; init; } = 1000;
    /// <summary>Line of the <c>cluster:</c> key, for messages.</summary>
    public int Line { get; init; }
}

/// <summary>One seed node of a <c>cluster:</c> block, "host:port".</summary>
public sealed record ClusterNodeAddress
{
    public required string Host { get; init; }
    public int Port { get; init; }
    public int Line { get; init; }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
