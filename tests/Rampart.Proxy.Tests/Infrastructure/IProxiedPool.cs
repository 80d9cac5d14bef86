using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>A pool behind Rampart, with a way to read a key straight from the server that owns it.</summary>
public interface IProxiedPool
{
    ConnectionMultiplexer Client { get; }
    /// <summary>The value of <paramref name="key"/> as stored on its own server (not through Rampart).</summary>
    byte[]? DirectGet(byte[] key);
}
