using System.Text;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Routing;

/// <summary>
/// Where a twemproxy pool puts a key: hash kind + optional hash tag + distribution, as server_pool_idx in
/// nc_server.c. Immutable; the engine holds one per pool and swaps in a new one when the config or the set of live
/// servers changes. <see cref="ServerFor"/> takes no locks and allocates nothing.
/// </summary>
public sealed class KeyRouter
{
    private readonly (string Name, int Weight)[] _servers;
    private readonly bool _hasTag;
    private readonly byte _tagOpen;
    private readonly byte _tagClose;

    public KeyRouter(HashKind hash, string? hashTag, DistributionKind distribution,
        IReadOnlyList<(string Name, int Weight)> servers, ReadOnlySpan<bool> live = default)
    {
        ArgumentNullException.ThrowIfNull(servers);
        Hash = hash;
        HashTagText = hashTag;
        if (hashTag is not null)
        {
            (_tagOpen, _tagClose) = ParseHashTag(hashTag);
            _hasTag = true;
        }
        _servers = [.. servers];
        Distribution = KeyDistribution.Create(distribution, _servers, live);
    }

    public HashKind Hash { get; }

    /// <summary>The two tag characters as configured, or null for none.</summary>
    public string? HashTagText { get; }

    public KeyDistribution Distribution { get; }

    /// <summary>Configured servers (ketama name, weight), live and dead, in config order.</summary>
    public IReadOnlyList<(string Name, int Weight)> Servers => _servers;

    /// <summary>The router of a pool, every server live.</summary>
    public static KeyRouter Create(PoolConfig pool) => Create(pool, default);

    /// <summary>
    /// The router of a pool with only the servers flagged in <paramref name="live"/> receiving keys (one flag per
    /// entry of <see cref="PoolConfig.Servers"/>; empty = all). Throws <see cref="ArgumentException"/> for a hash,
    /// distribution or hash tag that nutcracker would refuse.
    /// </summary>
    public static KeyRouter Create(PoolConfig pool, ReadOnlySpan<bool> live)
    {
        ArgumentNullException.ThrowIfNull(pool);
        if (!HashKinds.TryParse(pool.Hash, out var hash))
            throw new ArgumentException($"pool '{pool.Name}': '{pool.Hash}' is not a valid hash", nameof(pool));
        if (!DistributionKinds.TryParse(pool.Distribution, out var distribution))
            throw new ArgumentException($"pool '{pool.Name}': '{pool.Distribution}' is not a valid distribution", nameof(pool));
        var servers = new (string Name, int Weight)[pool.Servers.Count];
        for (int i = 0; i < servers.Length; i++) servers[i] = (KetamaName(pool.Servers[i]), pool.Servers[i].Weight);
        return new KeyRouter(hash, pool.HashTag, distribution, servers, live);
    }

    /// <summary>
    /// The same pool with another set of live servers (auto_eject_hosts ejection or readmission): twemproxy rebuilds
    /// its continuum from the live servers, keeping names and server indices.
    /// </summary>
    public KeyRouter WithLiveServers(ReadOnlySpan<bool> live) =>
        new(Hash, HashTagText, Distribution.Kind, _servers, live);

    /// <summary>
    /// The string twemproxy feeds to ketama for a server (conf_add_server in nc_conf.c): the configured name if
    /// there is one; otherwise the address as written, "host:port", except that the port is left out when it is
    /// 11211 (libmemcached compatibility); for a unix socket ("/path:weight") it is the path followed by ':'
    /// (twemproxy takes addrlen + 1 + portlen bytes with portlen 0).
    /// </summary>
    /// <remarks>
    /// twemproxy uses the config text itself. The parsed ServerConfig loses two spellings, which place keys
    /// differently there: a port written with leading zeros ("6379" is used), and an IPv6 host in brackets
    /// ("[::1]:6379" in the file is "::1:6379" here).
    /// </remarks>
    public static string KetamaName(ServerConfig server)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (!string.IsNullOrEmpty(server.Name)) return server.Name;
        if (server.Host.StartsWith('/')) return server.Host + ":";
        if (server.Port == 11211) return server.Host;
        return $"{server.Host}:{server.Port}";
    }

    /// <summary>
    /// The configured index of the server that owns <paramref name="key"/>, or -1 when no server is live.
    /// With random distribution the answer is random per call.
    /// </summary>
    public int ServerFor(ReadOnlySpan<byte> key)
    {
        var distribution = Distribution;
        if (distribution.LiveServerCount == 0) return -1; // server_pool_update: no live servers -> error
        if (_servers.Length == 1) return 0;               // server_pool_idx: one server, no hashing
        if (distribution.Kind == DistributionKind.Random) return distribution.ServerIndex(0);
        return distribution.ServerIndex(HashOf(key));
    }

    /// <summary>
    /// The hash twemproxy computes for <paramref name="key"/> in this pool: the hash tag applied, and 0 for an empty
    /// key (server_pool_hash returns 0 for keylen 0 without calling the hash function).
    /// </summary>
    public uint HashOf(ReadOnlySpan<byte> key)
    {
        if (_hasTag) key = HashTag.Extract(key, _tagOpen, _tagClose);
        return key.IsEmpty ? 0 : KeyHash.Compute(Hash, key);
    }

    /// <summary>twemproxy's conf_set_hashtag: exactly two bytes.</summary>
    private static (byte Open, byte Close) ParseHashTag(string tag)
    {
        Span<byte> bytes = stackalloc byte[8];
        if (tag.Length > 2 || Encoding.UTF8.GetByteCount(tag) != 2)
            throw new ArgumentException($"hash_tag '{tag}' is not a valid hash tag string with two characters", nameof(tag));
        Encoding.UTF8.GetBytes(tag, bytes);
        return (bytes[0], bytes[1]);
    }
}
