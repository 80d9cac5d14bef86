using System.Net;
using Microsoft.Extensions.Logging;
using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Infrastructure;

/// <summary>Rampart running in the test process with one pool on a free loopback port.</summary>
public sealed class RampartUnderTest : IAsyncDisposable
{
    private readonly ProxyServer _server;

    private readonly string _poolName;

    private RampartUnderTest(ProxyServer server, int port, string poolName)
    {
        _server = server;
        Port = port;
        _poolName = poolName;
    }

    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port}";
    public ProxyServer Server => _server;
    /// <summary>The pool's bound address: IPv4, IPv6, or a unix socket's path.</summary>
    public EndPoint ListenEndPoint => _server.GetListenEndPoint(_poolName);

    public static PoolConfig Pool(params RedisServerProcess[] servers) => new()
    {
        Name = "test",
        Listen = new ListenAddress { Host = "127.0.0.1", Port = 0 },
        Servers = servers.Select((s, i) => new ServerConfig { Host = "127.0.0.1", Port = s.Port, Weight = 1, Name = $"s{i}" }).ToList(),
    };

    public static Task<RampartUnderTest> StartAsync(params RedisServerProcess[] servers) => StartAsync(Pool(servers));

    /// <summary>
    /// Two event loops unless told otherwise, whatever the machine's cores: clients land on both, so every test also
    /// covers requests, replies and dedicated connections that cross from one loop's thread to the other's.
    /// </summary>
    public const int DefaultEventLoops = 2;

    public static async Task<RampartUnderTest> StartAsync(PoolConfig pool, ILoggerFactory? loggers = null, int eventLoops = DefaultEventLoops,
        Rampart.Proxy.Security.AclTable? acl = null, TimeProvider? time = null, AuthThrottleConfig? authThrottle = null)
    {
        var settings = new RampartSettings { EventLoops = eventLoops, Acl = acl, AuthThrottle = authThrottle ?? new AuthThrottleConfig() };
        var config = new ProxyConfig { Source = "(test)", Pools = [pool], Settings = settings };
        var server = new ProxyServer(config, loggers, time: time);
        await server.StartAsync();
        // A unix socket pool has no port: its clients connect to the path (ListenEndPoint).
        int port = server.GetListenEndPoint(pool.Name) is IPEndPoint endpoint ? endpoint.Port : 0;
        return new RampartUnderTest(server, port, pool.Name);
    }

    public async ValueTask DisposeAsync() => await _server.StopAsync(TimeSpan.FromSeconds(1));
}
