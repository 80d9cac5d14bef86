namespace Rampart.Proxy.Configuration;

/// <summary>
/// Rampart's <c>sentinel:</c> block inside a pool. When present, the pool's <c>servers</c> entries are Sentinel master
/// names (such as "mymaster"), not addresses: each becomes a <see cref="ServerConfig"/> whose Host and Name hold the
/// master name and whose Port is 0, and the Topology layer asks these sentinels where each master is.
/// </summary>
public sealed record SentinelConfig
{
    public required IReadOnlyList<SentinelAddress> Addresses { get; init; }
    /// <summary>How many sentinels must agree on a master; defaults to a majority of <see cref="Addresses"/>.</summary>
    public int Quorum { get; init; }
    /// <summary>The sentinels' own password (<c>requirepass</c> of redis-sentinel), or null.</summary>
    public string? Password { get; init; }
    /// <summary>Milliseconds between checks of each master (ROLE, sentinel queries).</summary>
    public int CheckIntervalMs { get; init; } = 1000;
    /// <summary>
    /// The sentinels listen with TLS (<c>tls: true</c>, redis-sentinel's <c>tls-port</c>): Rampart connects to them with
    /// the pool's <c>server_tls</c> settings (its CA, client certificate), or with the system's trusted CAs without one.
    /// </summary>
    public bool Tls { get; init; }
    /// <summary>Line of the <c>sentinel:</c> key, for messages.</summary>
    public int Line { get; init; }
}

/// <summary>One sentinel, "host:port".</summary>
public sealed record SentinelAddress
{
    public required string Host { get; init; }
    public int Port { get; init; }
    public int Line { get; init; }

    public override string ToString() => Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
