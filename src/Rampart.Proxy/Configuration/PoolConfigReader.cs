namespace Rampart.Proxy.Configuration;

/// <summary>What reading one pool gave; Listen is kept even when the pool has other errors, for cross-pool checks.</summary>
internal sealed record PoolReadResult(PoolConfig? Pool, ListenAddress? Listen, int ListenLine);

/// <summary>
/// Reads one pool with nutcracker's keys, meanings and defaults (nc_conf.c / nc_conf.h), plus Rampart's additions.
/// Defaults live in <see cref="PoolConfig"/>'s initializers; a key that is absent or wrong leaves its default.
/// </summary>
internal static class PoolConfigReader
{
    public static readonly string[] Keys =
    [
        // nutcracker 0.5
        "listen", "backlog", "client_connections", "tcpkeepalive", "hash", "hash_tag", "distribution", "timeout",
        "preconnect", "redis", "redis_auth", "redis_db", "server_connections", "auto_eject_hosts",
        "server_retry_timeout", "server_failure_limit", "servers",
        // Rampart
        "client_output_buffer", "sentinel", "allow_flush", "allow", "pinned_connections",
        "pinned_reserve", "pinned_min_idle", "commands", "cluster", "users", "read_from", "max_replica_lag",
        "read_your_writes", "replicas", "min_replicas_ack", "ack_timeout", "tls", "server_tls",
        "client_idle_timeout", "auth_timeout", "max_connections_per_ip", "max_request_size", "redis_auth_file",
    ];

    private static readonly string[] PinnedReserveKeys = ["transactions", "subscribers", "blocking"];

    public static readonly string[] Hashes =
    [
        "one_at_a_time", "md5", "crc16", "crc32", "crc32a", "fnv1_64", "fnv1a_64", "fnv1_32", "fnv1a_32", "hsieh",
        "murmur", "jenkins",
    ];

    public static readonly string[] Distributions = ["ketama", "modula", "random"];

    public static PoolReadResult Read(string name, int line, YamlNode node, ErrorSink errors)
    {
        var context = $"pool '{name}'";
        if (node is not YamlMapping mapping)
        {
            errors.Add(node.Line, $"{context} must be a mapping of settings (listen, servers, ...)");
            return new PoolReadResult(null, null, line);
        }

        var errorsBefore = errors.Count;
        var v = new ScalarValues(errors, context);
        var pool = new PoolConfig { Name = name, Line = line, Listen = new ListenAddress(), Servers = [] };
        ListenAddress? listen = null;
        var listenLine = line;
        YamlNode? serversNode = null;
        SentinelConfig? sentinel = null;
        ClusterConfig? cluster = null;
        bool sawRedis = false;
        int reserveLine = 0;
        int minIdleLine = 0;
        bool pinnedTotalRead = true;
        var redisAuth = new SecretSetting("redis_auth", v);

        foreach (var (key, entry) in MappingKeys.Known(mapping, Keys, context, errors))
        {
            var value = entry.Value;
            switch (key)
            {
                case "listen":
                    listenLine = value.Line;
                    if (v.String(key, value) is { } text)
                    {
                        if (ListenAddressParser.TryParse(text, out listen, out var error))
                            pool = pool with { Listen = listen! };
                        else
                            errors.Add(value.Line, $"{context}: listen {error}");
                    }
                    break;
                case "backlog":
                    if (v.Int(key, value, 0, "the listen queue length") is { } backlog) pool = pool with { Backlog = backlog };
                    break;
                case "client_connections":
                    // nutcracker 0.5 parses this key but then always resets it to 0 (conf_validate_pool); Rampart honours it.
                    if (v.Int(key, value, 0, "0 = unlimited") is { } cc) pool = pool with { ClientConnections = cc };
                    break;
                case "tcpkeepalive":
                    if (v.Bool(key, value) is { } ka) pool = pool with { TcpKeepalive = ka };
                    break;
                case "hash":
                    if (OneOf(v, key, value, Hashes) is { } hash) pool = pool with { Hash = hash };
                    break;
                case "hash_tag":
                    if (v.String(key, value) is { } tag)
                    {
                        // Two bytes, as nutcracker counts them: the routing code compares bytes of the key.
                        if (System.Text.Encoding.UTF8.GetByteCount(tag) == 2)
                            pool = pool with { HashTag = tag };
                        else
                            errors.Add(value.Line, $"{context}: hash_tag must be exactly two characters, such as \"{{}}\", got '{tag}'");
                    }
                    break;
                case "distribution":
                    if (OneOf(v, key, value, Distributions) is { } dist) pool = pool with { Distribution = dist };
                    break;
                case "timeout":
                    // nutcracker arms no timer when timeout <= 0, so 0 means "wait forever" like an absent key.
                    if (v.Int(key, value, 0, "milliseconds") is { } t) pool = pool with { TimeoutMs = t == 0 ? null : t };
                    break;
                case "preconnect":
                    if (v.Bool(key, value) is { } pre) pool = pool with { Preconnect = pre };
                    break;
                case "redis":
                    sawRedis = true;
                    if (v.Bool(key, value) is false)
                        errors.Add(value.Line, $"{context}: memcached pools (redis: false) are not supported; Rampart speaks the Redis protocol only");
                    break;
                case "redis_auth" or "redis_auth_file":
                    redisAuth.Read(key, entry);
                    break;
                case "redis_db":
                    if (v.Int(key, value, 0, "a database number") is { } db) pool = pool with { RedisDb = db };
                    break;
                case "server_connections":
                    if (v.Int(key, value, 1, "connections to each server") is { } sc) pool = pool with { ServerConnections = sc };
                    break;
                case "auto_eject_hosts":
                    if (v.Bool(key, value) is { } eject) pool = pool with { AutoEjectHosts = eject };
                    break;
                case "server_retry_timeout":
                    if (v.Int(key, value, 0, "milliseconds") is { } rt) pool = pool with { ServerRetryTimeoutMs = rt };
                    break;
                case "server_failure_limit":
                    if (v.Int(key, value, 0, "consecutive failures") is { } fl) pool = pool with { ServerFailureLimit = fl };
                    break;
                case "allow_flush":
                    if (v.Bool(key, value) is { } flush) pool = pool with { AllowFlush = flush };
                    break;
                case "pinned_connections":
                    if (v.Int(key, value, 0, "dedicated connections per server for transactions, subscribers and blocking calls; 0 = none") is { } pc)
                        pool = pool with { PinnedConnections = pc };
                    else pinnedTotalRead = false;
                    break;
                case "pinned_min_idle":
                    if (v.Int(key, value, 0, "idle dedicated connections kept open per server, ready for a transaction or blocking call; 0 = none") is { } mi)
                    {
                        pool = pool with { PinnedMinIdle = mi };
                        minIdleLine = entry.Key.Line;
                    }
                    break;
                case "pinned_reserve":
                    if (ReadPinnedReserve(context, value, errors) is { } reserve)
                    {
                        pool = pool with { PinnedReserve = reserve };
                        reserveLine = entry.Key.Line;
                    }
                    break;
                case "client_output_buffer":
                    if (v.Size(key, value) is { } cob) pool = pool with { ClientOutputBufferLimit = cob };
                    break;
                case "client_idle_timeout":
                    if (v.Milliseconds(key, value, "0 = never") is { } idle) pool = pool with { ClientIdleTimeoutMs = idle };
                    break;
                case "auth_timeout":
                    if (v.Milliseconds(key, value, "0 = never") is { } authTimeout) pool = pool with { AuthTimeoutMs = authTimeout };
                    break;
                case "max_connections_per_ip":
                    if (v.Int(key, value, 0, "client connections from one address; 0 = unlimited") is { } perIp)
                        pool = pool with { MaxConnectionsPerIp = perIp };
                    break;
                case "max_request_size":
                    if (v.Size(key, value) is { } mrs)
                    {
                        if (mrs <= Rampart.Protocol.RespLimits.DefaultMaxBulkLength) pool = pool with { MaxRequestSize = mrs };
                        else errors.Add(value.Line, $"{context}: max_request_size must be at most 512mb (Redis's proto-max-bulk-len), got '{((YamlScalar)value).Value}'");
                    }
                    break;
                case "commands":
                    if (CommandRulesReader.Read(context, value, errors) is { } rules) pool = pool with { Commands = rules };
                    break;
                case "allow":
                    if (ReadAllow(context, value, errors) is { } allow) pool = pool with { Allow = allow };
                    break;
                case "read_from":
                    if (OneOf(v, key, value, ReadFromNames.All) is { } readFrom) pool = pool with { ReadFrom = ReadFromNames.Parse(readFrom) };
                    break;
                case "max_replica_lag":
                    if (v.Int(key, value, 0, "milliseconds a replica may be behind its master and still serve reads") is { } lag)
                        pool = pool with { MaxReplicaLagMs = lag };
                    break;
                case "read_your_writes":
                    if (v.Bool(key, value) is { } ryw) pool = pool with { ReadYourWritesSetting = ryw };
                    break;
                case "min_replicas_ack":
                    if (v.Int(key, value, 0, "replicas that must have a write before its client is answered; 0 = none") is { } acks)
                        pool = pool with { MinReplicasAck = acks };
                    break;
                case "ack_timeout":
                    if (v.Int(key, value, 1, "milliseconds the replicas have to acknowledge a write") is { } ackTimeout)
                        pool = pool with { AckTimeoutMs = ackTimeout };
                    break;
                case "replicas":
                    pool = pool with { Replicas = HostPortListReader.Read(context, key, "replica", value, errors)
                        .Select(r => new ServerConfig { Host = r.Host, Port = r.Port, Line = r.Line }).ToList() };
                    break;
                case "users":
                    if (ReadUsers(context, value, errors) is { } users) pool = pool with { Users = users, UsersLine = entry.Key.Line };
                    break;
                case "servers":
                    serversNode = value;
                    break;
                case "sentinel":
                    sentinel = SentinelConfigReader.Read(context, entry.Key.Line, value, errors);
                    break;
                case "cluster":
                    cluster = ClusterConfigReader.Read(context, entry.Key.Line, value, errors);
                    break;
                case "tls":
                    if (TlsConfigReader.ReadListener(context, entry.Key.Line, value, errors) is { } tls) pool = pool with { Tls = tls };
                    break;
                case "server_tls":
                    if (TlsConfigReader.ReadServer(context, entry.Key.Line, value, errors) is { } serverTls) pool = pool with { ServerTls = serverTls };
                    break;
            }
        }

        redisAuth.Finish();
        if (redisAuth.Value is { } auth) pool = pool with { RedisAuth = auth };

        // After every key: pinned_connections may come after pinned_reserve.
        if (reserveLine > 0 && pinnedTotalRead && pool.PinnedReserve.Total(pool.PinnedConnections) is var reserved
            && reserved > pool.PinnedConnections)
        {
            var r = pool.PinnedReserve;
            int fallback = PinnedReserveConfig.DefaultFor(pool.PinnedConnections);
            errors.Add(reserveLine, $"{context}: pinned_reserve keeps {reserved} dedicated connections per server (transactions "
                + $"{r.Transactions ?? fallback}, subscribers {r.Subscribers ?? fallback}, blocking {r.BlockingCalls ?? fallback}), "
                + $"more than pinned_connections ({pool.PinnedConnections}); the reserves must fit in it (a kind left out keeps a quarter of it)");
        }

        // Warm connections count against pinned_connections: more of them than the limit cannot be kept.
        if (minIdleLine > 0 && pinnedTotalRead && pool.PinnedMinIdle > pool.PinnedConnections)
            errors.Add(minIdleLine, $"{context}: pinned_min_idle ({pool.PinnedMinIdle}) is more than pinned_connections ({pool.PinnedConnections}); the idle connections kept open count against it");

        if (listen is null && !mapping.Entries.Any(e => e.Name == "listen"))
            errors.Add(line, $"{context}: listen is missing (nutcracker: directive \"listen:\" is missing)");

        if (pool.Tls is { } tlsListen && listen is not null && tlsListen.Listen == listen
            && (listen.IsUnix || listen.Port != 0)) // port 0: each listener gets its own port from the system
            errors.Add(tlsListen.Line, $"{context}: tls listen {tlsListen.Listen} is the pool's plain listen too; the TLS listener needs its own address");

        // Servers are read after every key, because a sentinel block (before or after) changes what they mean, and a
        // cluster block replaces them.
        var hasSentinelKey = mapping.Entries.Any(e => e.Name == "sentinel");
        var servers = ClusterPoolRules.HasClusterKey(mapping)
            ? ClusterPoolRules.Check(context, mapping, cluster, errors)
            : serversNode is null
                ? MissingServers(context, line, errors)
                : ServerListReader.Read(context, serversNode, hasSentinelKey, errors);

        ReplicaReadRules.Check(context, mapping, pool, servers, errors);

        // nutcracker's default is redis: false, so a pool without the key is a memcached pool there. Serving it as
        // Redis would speak the wrong protocol to its clients without a word; refusing it says what to change.
        if (!sawRedis)
            errors.Add(line, $"{context}: 'redis' is not set, so nutcracker would serve this pool as memcached; Rampart speaks the Redis protocol only: add 'redis: true'");
        var ok = errors.Count == errorsBefore && listen is not null;
        return new PoolReadResult(ok ? pool with { Servers = servers, Sentinel = sentinel, Cluster = cluster } : null, listen, listenLine);
    }

    /// <summary><c>allow: [10.0.0.0/8, "::1"]</c>: CIDR blocks or single addresses, at least one.</summary>
    /// <summary>users: [alice, bob]: the ACL users this pool admits (checked against rampart: acl by the loader).</summary>
    private static IReadOnlyList<string>? ReadUsers(string context, YamlNode node, ErrorSink errors)
    {
        if (node is not YamlSequence seq || seq.Items.Count == 0)
        {
            errors.Add(node.Line, $"{context}: users must be a non-empty list of ACL user names, such as [alice, ops]");
            return null;
        }
        var names = new List<string>();
        foreach (var item in seq.Items)
        {
            if (item is YamlScalar { IsNull: false } s) names.Add(s.Value);
            else errors.Add(item.Line, $"{context}: each users entry must be a user name");
        }
        return names;
    }

    private static IReadOnlyList<System.Net.IPNetwork>? ReadAllow(string context, YamlNode node, ErrorSink errors)
    {
        if (node is not YamlSequence seq || seq.Items.Count == 0)
        {
            errors.Add(node.Line, $"{context}: allow must be a non-empty list of CIDR blocks or addresses, such as [10.0.0.0/8, \"::1\"]");
            return null;
        }
        var networks = new List<System.Net.IPNetwork>();
        int before = errors.Count;
        foreach (var item in seq.Items)
        {
            if (item is not YamlScalar { IsNull: false } s)
            {
                errors.Add(item.Line, $"{context}: each allow entry must be a CIDR block or an address");
                continue;
            }
            if (ClientNetworkParser.TryParse(s.Value.Trim(), out var network, out var error)) networks.Add(network);
            else errors.Add(s.Line, $"{context}: allow {error}");
        }
        return errors.Count == before ? networks : null;
    }

    /// <summary>
    /// <c>pinned_reserve: {transactions: 8, subscribers: 32, blocking: 8}</c>: dedicated connections per server each kind
    /// keeps for itself; any kind may be left out.
    /// </summary>
    private static PinnedReserveConfig? ReadPinnedReserve(string poolContext, YamlNode node, ErrorSink errors)
    {
        var context = $"{poolContext} pinned_reserve";
        if (node is not YamlMapping mapping)
        {
            errors.Add(node.Line, $"{context} must be a mapping of dedicated connections per server kept for each kind, such as {{transactions: 8, subscribers: 32, blocking: 8}}");
            return null;
        }
        int before = errors.Count;
        var v = new ScalarValues(errors, context);
        var reserve = new PinnedReserveConfig();
        foreach (var (key, entry) in MappingKeys.Known(mapping, PinnedReserveKeys, context, errors))
        {
            if (v.Int(key, entry.Value, 0, $"dedicated connections per server kept for {(key == "blocking" ? "blocking calls" : key)}") is not { } n) continue;
            reserve = key switch
            {
                "transactions" => reserve with { Transactions = n },
                "subscribers" => reserve with { Subscribers = n },
                _ => reserve with { BlockingCalls = n },
            };
        }
        return errors.Count == before ? reserve : null;
    }

    private static IReadOnlyList<ServerConfig> MissingServers(string context, int line, ErrorSink errors)
    {
        errors.Add(line, $"{context}: servers is missing (nutcracker: pool has no servers)");
        return [];
    }

    /// <summary>A value that must be one of <paramref name="allowed"/>, or an error naming them (and the nearest).</summary>
    internal static string? OneOf(ScalarValues v, string key, YamlNode value, string[] allowed)
    {
        if (v.String(key, value) is not { } text) return null;
        if (allowed.Contains(text)) return text;
        var suggestion = KeySuggester.Closest(text, allowed);
        v.Errors.Add(value.Line, $"{v.Context}: {key} '{text}' is not valid"
            + (suggestion is null ? "" : $" (did you mean '{suggestion}'?)")
            + $"; expected one of: {string.Join(", ", allowed)}");
        return null;
    }
}
