namespace Rampart.Proxy.Configuration;

/// <summary>
/// One pool: a listener and the servers behind it. Every key of a nutcracker.yml pool keeps its name, meaning and
/// default (nc_conf.h); Rampart's own additions are extra keys. Immutable: a reload builds a new one.
/// </summary>
public sealed record PoolConfig
{
    public required string Name { get; init; }
    /// <summary>Line of the pool's name in the file, for messages.</summary>
    public int Line { get; init; }

    public required ListenAddress Listen { get; init; }
    public int Backlog { get; init; } = 512;
    /// <summary>Most client connections at once; 0 = unlimited.</summary>
    public int ClientConnections { get; init; }
    /// <summary>Milliseconds a server may take to answer; null = wait forever (twemproxy's default).</summary>
    public int? TimeoutMs { get; init; }
    public bool Preconnect { get; init; }
    public int ServerConnections { get; init; } = 1;
    public bool TcpKeepalive { get; init; }

    public string Hash { get; init; } = "fnv1a_64";
    /// <summary>Two characters, such as "{}", or null for none.</summary>
    public string? HashTag { get; init; }
    public string Distribution { get; init; } = "ketama";
    public bool AutoEjectHosts { get; init; }
    public int ServerRetryTimeoutMs { get; init; } = 30_000;
    public int ServerFailureLimit { get; init; } = 2;

    public string? RedisAuth { get; init; }
    public int RedisDb { get; init; }

    /// <summary>Rampart: FLUSHALL/FLUSHDB on a pool of several servers empty every server; refused unless true.</summary>
    public bool AllowFlush { get; init; }

    /// <summary>Rampart: bytes of replies kept for a client that does not read them before it is closed.</summary>
    public long ClientOutputBufferLimit { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// Rampart: client networks allowed to connect (<c>allow:</c>); null = everyone. Checked at accept on TCP listeners
    /// (a unix socket has no client address: its file mode is its access control).
    /// </summary>
    public IReadOnlyList<System.Net.IPNetwork>? Allow { get; init; }

    /// <summary>
    /// Rampart: most dedicated connections per server, lent to clients with connection state (MULTI/WATCH,
    /// SUBSCRIBE, blocking calls) for as long as it lasts; idle ones are kept for reuse.
    /// </summary>
    public int PinnedConnections { get; init; } = 128;

    public required IReadOnlyList<ServerConfig> Servers { get; init; }

    /// <summary>Rampart: the pool's <c>sentinel:</c> block, or null. When set, each server is a Sentinel master name.</summary>
    public SentinelConfig? Sentinel { get; init; }
}

/// <summary>Where a pool listens: a TCP host and port, or a unix socket path with an optional file mode.</summary>
public sealed record ListenAddress
{
    public string? Host { get; init; }
    public int Port { get; init; }
    public string? UnixPath { get; init; }
    /// <summary>Permissions of the unix socket file (twemproxy's "/path/sock 0666"), or null for the default.</summary>
    public int? UnixMode { get; init; }

    public bool IsUnix => UnixPath is not null;
    public override string ToString() => IsUnix ? UnixPath! : $"{FormatHost(Host!)}:{Port}";

    private static string FormatHost(string host) => host.Contains(':') ? $"[{host}]" : host;
}

/// <summary>One line of <c>servers:</c>, "host:port:weight [name]" as in twemproxy.</summary>
public sealed record ServerConfig
{
    public required string Host { get; init; }
    public int Port { get; init; }
    public int Weight { get; init; } = 1;
    /// <summary>The optional name after the address; in ketama it replaces "host:port" when hashing points.</summary>
    public string? Name { get; init; }
    public int Line { get; init; }

    /// <summary>A unix socket server ("/path:weight" in twemproxy): Host holds the path and Port is 0.</summary>
    public bool IsUnix => Host.StartsWith('/');

    /// <summary>The address as written in the config, "host:port" (or the unix path), which twemproxy's stats also use.</summary>
    public string Endpoint => IsUnix ? Host : Host.Contains(':') ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
