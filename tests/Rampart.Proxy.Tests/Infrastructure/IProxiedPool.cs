using System.Text;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>
/// A pool behind Rampart, with a way to find the server that stores a key and read the key straight from it, so a test
/// written once checks where Rampart put each value whatever the pool's shape (one server, shards, a cluster).
/// </summary>
public interface IProxiedPool
{
    RampartUnderTest Rampart { get; }
    ConnectionMultiplexer Client { get; }

    /// <summary>Every server that stores keys: the one server, each shard, or the cluster's masters.</summary>
    IReadOnlyList<RedisServerProcess> Servers { get; }

    /// <summary>The server that stores <paramref name="key"/>: the one server, the shard the pool's hash picks, or the master serving its slot.</summary>
    RedisServerProcess OwnerOf(byte[] key);

    /// <summary>The value of <paramref name="key"/> as stored on its own server (not through Rampart).</summary>
    byte[]? DirectGet(byte[] key) => DirectRead.Get(OwnerOf(key), key);
}

public static class ProxiedPoolExtensions
{
    public static RedisServerProcess OwnerOf(this IProxiedPool pool, string key) => pool.OwnerOf(Encoding.UTF8.GetBytes(key));

    public static string? DirectGet(this IProxiedPool pool, string key) =>
        pool.DirectGet(Encoding.UTF8.GetBytes(key)) is { } value ? Encoding.UTF8.GetString(value) : null;

    /// <summary>One fresh key named from <paramref name="prefix"/> per server of the pool, in <see cref="IProxiedPool.Servers"/> order.</summary>
    public static string[] KeysOnEveryServer(this IProxiedPool pool, string prefix)
    {
        var servers = pool.Servers.Select(s => s.Port).ToList();
        var keys = new string?[servers.Count];
        for (int i = 0; i < 10_000 && keys.Any(k => k is null); i++)
        {
            string key = $"{prefix}:{Guid.NewGuid():N}";
            keys[servers.IndexOf(pool.OwnerOf(key).Port)] ??= key;
        }
        return keys.Select(k => k ?? throw new InvalidOperationException("no key for some server of the pool")).ToArray();
    }
}

/// <summary>GET on one server over a fresh connection, bytes exact; an error reply (a cluster node's MOVED: the key is not there) throws.</summary>
public static class DirectRead
{
    public static byte[]? Get(RedisServerProcess server, byte[] key)
    {
        using var client = RespTestClient.ConnectTcp(server.Port);
        client.Send(RespTestClient.Command("GET"u8.ToArray(), key));
        return client.ReadReply() switch
        {
            RespError e => throw new InvalidOperationException($"GET on {server.Endpoint} answered -{e.Message}"),
            var reply => (byte[]?)reply,
        };
    }
}
