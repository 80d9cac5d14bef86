using System.Net;
using System.Net.Sockets;
using System.Text;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Clients;

/// <summary>
/// Clients are accepted by the event loop itself (accept4) and keep their peer's address as a value, not a .NET
/// socket: CLIENT LIST's addr= and laddr= must still say what Redis would, for IPv4, IPv6 and unix socket clients, and
/// what the per-address rules see is the same address (AbuseLimitTests).
/// </summary>
public sealed class AcceptedClientAddressTests
{
    private static Dictionary<string, string> OwnLine(RespTestClient client)
    {
        string line = Encoding.UTF8.GetString(Assert.IsType<byte[]>(client.Call("CLIENT", "INFO")));
        return line.TrimEnd('\n').Split(' ').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
    }

    private static async Task AssertAddressesAsync(string listenHost, EndPoint connectTo)
    {
        using var redis = RedisServerProcess.Start();
        var pool = RampartUnderTest.Pool(redis) with { Listen = new ListenAddress { Host = listenHost, Port = 0 } };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        var target = connectTo is IPEndPoint ip ? new IPEndPoint(ip.Address, rampart.Port) : connectTo;
        using var client = RespTestClient.Connect(target);
        Assert.Equal("PONG", client.CallText("PING"));

        var line = OwnLine(client);
        Assert.Equal(client.LocalEndPoint, line["addr"]);
        Assert.Equal(target.ToString(), line["laddr"]);
        // CLIENT LIST says the same of it to another client.
        using var other = RespTestClient.Connect(target);
        string list = Encoding.UTF8.GetString(Assert.IsType<byte[]>(other.Call("CLIENT", "LIST")));
        Assert.Contains($" addr={client.LocalEndPoint} laddr={target} ", list);
    }

    [Fact]
    public Task IPv4Client_ClientInfo_ShowsItsAddressAndTheListenersAsRedisDoes() =>
        AssertAddressesAsync("127.0.0.1", new IPEndPoint(IPAddress.Loopback, 0));

    [Fact]
    public Task IPv6Client_ClientInfo_ShowsItsAddressAndTheListenersAsRedisDoes() =>
        AssertAddressesAsync("::1", new IPEndPoint(IPAddress.IPv6Loopback, 0));

    [Fact]
    public async Task UnixSocketClient_ClientInfo_ShowsTheSocketPath_AsRedisDoes()
    {
        using var redis = RedisServerProcess.Start();
        string path = Path.Combine(Path.GetTempPath(), $"rampart-listen-{Guid.NewGuid():N}.sock");
        var pool = RampartUnderTest.Pool(redis) with { Listen = new ListenAddress { UnixPath = path } };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using var client = RespTestClient.Connect(new UnixDomainSocketEndPoint(path));
        Assert.Equal("PONG", client.CallText("PING"));
        var line = OwnLine(client);
        Assert.Equal($"{path}:0", line["addr"]);
        Assert.Equal($"{path}:0", line["laddr"]);
    }
}
