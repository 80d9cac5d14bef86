using Rampart.Proxy.Configuration;

namespace Rampart.Proxy.Tests.Configuration;

/// <summary>Listen addresses and server lines in every form twemproxy (and Rampart) accepts.</summary>
public class AddressTests
{
    private static PoolConfig Pool(string listen, params string[] servers) => ConfigAssert.SinglePool(
        $"p:\n  listen: \"{listen}\"\n  servers:\n" + string.Concat(servers.Select(s => $"   - \"{s}\"\n")) + "  redis: true\n");

    [Fact]
    public void UnixListenWithOctalMode()
    {
        var listen = Pool("/tmp/r.sock 0666", "127.0.0.1:6379:1").Listen;
        Assert.True(listen.IsUnix);
        Assert.Equal("/tmp/r.sock", listen.UnixPath);
        Assert.Equal(Convert.ToInt32("666", 8), listen.UnixMode);
        Assert.Equal("/tmp/r.sock", listen.ToString());
    }

    [Fact]
    public void UnixListenWithoutMode()
    {
        var listen = Pool("/var/run/nutcracker.sock", "127.0.0.1:6379:1").Listen;
        Assert.Equal(new ListenAddress { UnixPath = "/var/run/nutcracker.sock" }, listen);
    }

    [Theory]
    [InlineData("[::1]:22121", "::1", "[::1]:22121")]
    [InlineData("::1:22121", "::1", "[::1]:22121")]
    [InlineData("[fe80::1]:6000", "fe80::1", "[fe80::1]:6000")]
    [InlineData("localhost:22121", "localhost", "localhost:22121")]
    [InlineData("0.0.0.0:22121", "0.0.0.0", "0.0.0.0:22121")]
    public void TcpListen(string text, string host, string shown)
    {
        var listen = Pool(text, "127.0.0.1:6379:1").Listen;
        Assert.Equal(host, listen.Host);
        Assert.False(listen.IsUnix);
        Assert.Equal(shown, listen.ToString());
    }

    [Fact]
    public void ServerLines()
    {
        var servers = Pool("127.0.0.1:22121",
            "127.0.0.1:6379:1",
            "redis-2.internal:6380:10 shard2",
            "[::1]:6381:1",
            "/var/run/redis.sock:3 local").Servers;

        Assert.Equal(("127.0.0.1", 6379, 1, (string?)null, "127.0.0.1:6379"),
            (servers[0].Host, servers[0].Port, servers[0].Weight, servers[0].Name, servers[0].Endpoint));
        Assert.Equal(("redis-2.internal", 6380, 10, (string?)"shard2"), (servers[1].Host, servers[1].Port, servers[1].Weight, servers[1].Name));
        Assert.Equal(("::1", 6381, "[::1]:6381"), (servers[2].Host, servers[2].Port, servers[2].Endpoint));
        // twemproxy's unix server form: the path is the host, there is no port.
        Assert.True(servers[3].IsUnix);
        Assert.Equal(("/var/run/redis.sock", 0, 3, (string?)"local", "/var/run/redis.sock"),
            (servers[3].Host, servers[3].Port, servers[3].Weight, servers[3].Name, servers[3].Endpoint));
        Assert.Equal([4, 5, 6, 7], servers.Select(s => s.Line));
    }
}
