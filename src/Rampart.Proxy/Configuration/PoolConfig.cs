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
    /// Rampart: a client idle this long (ms; nothing read from it, nothing of its in flight, no subscription) is closed
    /// without a word, as Redis's <c>timeout</c> does; 0 = never (<c>client_idle_timeout:</c>, written in seconds).
    /// </summary>
    public long ClientIdleTimeoutMs { get; init; }

    /// <summary>
    /// Rampart: a client that has not authenticated (pools with a password or ACL users), or not sent one complete
    /// request, this long (ms) after it connected is closed; 0 = never (<c>auth_timeout:</c>, written in seconds).
    /// </summary>
    public long AuthTimeoutMs { get; init; }

    /// <summary>Rampart: most client connections from one source address (an IPv6 client: its /64); 0 = unlimited.</summary>
    public int MaxConnectionsPerIp { get; init; }

    /// <summary>
    /// Rampart: most bytes of one request (<c>max_request_size:</c>), at most Redis's 512 MB; null = Redis's bounds
    /// (a 512 MB bulk, a 1 GB query buffer).
    /// </summary>
    public long? MaxRequestSize { get; init; }

    /// <summary>
    /// Rampart: client networks allowed to connect (<c>allow:</c>); null = everyone. Checked at accept on TCP listeners
    /// (a unix socket has no client address: its file mode is its access control).
    /// </summary>
    public IReadOnlyList<System.Net.IPNetwork>? Allow { get; init; }
    /// <summary>users: the ACL users this pool admits (null: every user of rampart: acl). Needs rampart: acl.</summary>
    public IReadOnlyList<string>? Users { get; init; }
    public int UsersLine { get; init; }

    /// <summary>
    /// Rampart: most dedicated connections per server, lent to clients with connection state (MULTI/WATCH,
    /// SUBSCRIBE, blocking calls) for as long as it lasts; idle ones are kept for reuse.
    /// </summary>
    public int PinnedConnections { get; init; } = 128;

    /// <summary>
    /// Rampart: how many of <see cref="PinnedConnections"/> each kind of use (transactions, subscribers, blocking calls)
    /// keeps for itself, so a flood of one kind cannot take them all (<c>pinned_reserve:</c>).
    /// </summary>
    public PinnedReserveConfig PinnedReserve { get; init; } = new();

    /// <summary>
    /// <c>commands: {allow, deny}</c>: commands refused by default that this pool lets through (CONFIG SET...), and
    /// commands it refuses although Rampart could pass them. Default: Rampart's own choices (docs/commands.md).
    /// </summary>
    public CommandRules Commands { get; init; } = CommandRules.Default;

    /// <summary>
    /// Rampart: idle dedicated (RESP2) connections kept open per server, ready before a client needs one, so a MULTI or
    /// a blocking call starts as fast as a shared-path command instead of waiting for a connect and handshake (a
    /// blocking call could be overtaken meanwhile by another client's write meant to wake it). Opened in the
    /// background, counted against <see cref="PinnedConnections"/>; 0 = none (<c>pinned_min_idle:</c>).
    /// </summary>
    public int PinnedMinIdle { get; init; } = 2;

    public required IReadOnlyList<ServerConfig> Servers { get; init; }

    /// <summary>Rampart: where read-only commands go (<c>read_from:</c>); the master by default.</summary>
    public ReadFrom ReadFrom { get; init; } = ReadFrom.Master;

    /// <summary>
    /// Rampart: a replica further behind its master than this (in ms, from the replication offsets) gets no reads
    /// (<c>max_replica_lag:</c>).
    /// </summary>
    public int MaxReplicaLagMs { get; init; } = 1000;

    /// <summary>
    /// Rampart: after a client's write, its reads go to the master until every replica it could read from has that
    /// write (<c>read_your_writes:</c>; null: the default, on for prefer-replica and replica, off for nearest).
    /// </summary>
    public bool? ReadYourWritesSetting { get; init; }

    /// <summary>Whether read-your-writes applies (see <see cref="ReadYourWritesSetting"/>).</summary>
    public bool ReadYourWrites => ReadYourWritesSetting ?? ReadFrom is ReadFrom.PreferReplica or ReadFrom.Replica;

    /// <summary>Rampart: a single-server pool's replicas (<c>replicas:</c>), read from by <see cref="ReadFrom"/>.</summary>
    public IReadOnlyList<ServerConfig> Replicas { get; init; } = [];

    /// <summary>
    /// Rampart: a write is acknowledged to its client only once this many replicas have it (<c>min_replicas_ack:</c>,
    /// confirmed with one WAIT per batch of writes on a server connection); 0 = as soon as the master answers.
    /// </summary>
    public int MinReplicasAck { get; init; }

    /// <summary>Rampart: how long the WAIT for <see cref="MinReplicasAck"/> replicas may take, in ms (<c>ack_timeout:</c>).</summary>
    public int AckTimeoutMs { get; init; } = 100;

    /// <summary>True when writes wait for replicas (<see cref="MinReplicasAck"/>).</summary>
    public bool WritesDurably => MinReplicasAck > 0;

    /// <summary>True when some reads may go to replicas.</summary>
    public bool ReadsFromReplicas => ReadFrom != ReadFrom.Master;

    /// <summary>True when clients' writes must be tracked: reads from replicas, with read-your-writes.</summary>
    public bool ReadYourWritesApplies => ReadsFromReplicas && ReadYourWrites;

    /// <summary>Rampart: the pool's <c>sentinel:</c> block, or null. When set, each server is a Sentinel master name.</summary>
    public SentinelConfig? Sentinel { get; init; }

    /// <summary>
    /// Rampart: the pool's <c>cluster:</c> block, or null. When set, the pool fronts a Redis Cluster: <see cref="Servers"/>
    /// holds its seed nodes, and keys go by the cluster's slot map (CRC16 slot, <c>{tag}</c> rules), not by hash.
    /// </summary>
    public ClusterConfig? Cluster { get; init; }

    /// <summary>Rampart: the pool's TLS listener (<c>tls:</c>), beside its plain <see cref="Listen"/>; null = none.</summary>
    public ListenerTlsConfig? Tls { get; init; }

    /// <summary>Rampart: TLS towards the pool's Redis servers (<c>server_tls:</c>, Redis 6+ <c>tls-port</c>); null = plain.</summary>
    public ServerTlsConfig? ServerTls { get; init; }
}

/// <summary>
/// Rampart's <c>pinned_reserve:</c> block: dedicated connections per server kept for each kind of use. A kind not
/// written (null) keeps a quarter of <c>pinned_connections</c>, so by default each kind has a quarter to itself and
/// the last quarter goes to whichever kind asks first. The reader checks that the reserves fit in the total.
/// </summary>
public sealed record PinnedReserveConfig
{
    public int? Transactions { get; init; }
    public int? Subscribers { get; init; }
    public int? BlockingCalls { get; init; }

    /// <summary>A kind's reserve when the file does not name it: a quarter of the total (none below 4).</summary>
    public static int DefaultFor(int pinnedConnections) => pinnedConnections / 4;

    /// <summary>The three reserves, as written or by default, added up.</summary>
    public int Total(int pinnedConnections)
    {
        int fallback = DefaultFor(pinnedConnections);
        return (Transactions ?? fallback) + (Subscribers ?? fallback) + (BlockingCalls ?? fallback);
    }

    /// <summary>As written in YAML, for the reload log: <c>{transactions: 8, subscribers: default, blocking: 8}</c>.</summary>
    public override string ToString() =>
        $"{{transactions: {Show(Transactions)}, subscribers: {Show(Subscribers)}, blocking: {Show(BlockingCalls)}}}";

    private static string Show(int? value) => value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "default";
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

    /// <summary>
    /// How logs, errors, events and the reload diff name this server: "name (address)" when the line names it,
    /// else the address, so a line in the log can be matched with the dashboard's name and address columns.
    /// </summary>
    public string Label => Name is null || Name == Host ? Endpoint : $"{Name} ({Endpoint})";
}
