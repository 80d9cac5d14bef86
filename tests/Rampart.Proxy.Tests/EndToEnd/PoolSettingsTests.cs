using System.Net.Sockets;
using System.Text;
using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.EndToEnd;

/// <summary>The pool keys of issue #2 that change how Rampart listens and connects.</summary>
public sealed class PoolSettingsTests
{
    [Fact]
    public async Task UnixSocketListen_WithMode_ServesClients()
    {
        using var redis = RedisServerProcess.Start();
        string path = Path.Combine(Path.GetTempPath(), $"rampart-{Guid.NewGuid():N}.sock");
        var pool = RampartUnderTest.Pool(redis) with { Listen = new ListenAddress { UnixPath = path, UnixMode = Convert.ToInt32("0660", 8) } };
        var server = new ProxyServer(new ProxyConfig { Source = "(test)", Pools = [pool] });
        await server.StartAsync();
        try
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite,
                File.GetUnixFileMode(path));
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(path));
            socket.Send(Encoding.ASCII.GetBytes(RespText.Command("SET", "unix", "ok") + RespText.Command("GET", "unix")));
            var buffer = new byte[64];
            int total = 0;
            while (total < "+OK\r\n$2\r\nok\r\n".Length) total += socket.Receive(buffer, total, buffer.Length - total, SocketFlags.None);
            Assert.Equal("+OK\r\n$2\r\nok\r\n", Encoding.ASCII.GetString(buffer, 0, total));
        }
        finally
        {
            await server.StopAsync(TimeSpan.FromSeconds(1));
        }
        Assert.False(File.Exists(path), "the socket file is removed on stop");
    }

    [Fact]
    public async Task ServerOnAUnixSocket_ServesTheSharedPathAndTransactions()
    {
        // "/path:weight" in servers: the shared connection (on the event loop) and a dedicated one (WATCH) both
        // connect over the unix socket.
        string path = Path.Combine(Path.GetTempPath(), $"rampart-redis-{Guid.NewGuid():N}.sock");
        using var redis = RedisServerProcess.Start("--unixsocket", path, "--unixsocketperm", "700");
        var pool = RampartUnderTest.Pool() with { Servers = [new ServerConfig { Host = path, Port = 0, Weight = 1 }] };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using var client = new RawClient(rampart.Port);
        client.Send(RespText.Command("SET", "overunix", "1") + RespText.Command("INCR", "overunix") + RespText.Command("GET", "overunix"));
        Assert.Equal("+OK", client.ReadLine());
        Assert.Equal(":2", client.ReadLine());
        Assert.Equal("$1", client.ReadLine());
        Assert.Equal("2", client.ReadLine());
        client.Send(RespText.Command("WATCH", "overunix") + RespText.Command("MULTI") + RespText.Command("INCR", "overunix") + RespText.Command("EXEC"));
        Assert.Equal("+OK", client.ReadLine());
        Assert.Equal("+OK", client.ReadLine());
        Assert.Equal("+QUEUED", client.ReadLine());
        Assert.Equal("*1", client.ReadLine());
        Assert.Equal(":3", client.ReadLine());
        // Redis itself lists Rampart's connections as clients of its unix socket.
        string list = redis.Send(RespText.Command("CLIENT", "LIST"));
        var rampartLines = list.Split('\n').Where(line => line.Contains(" name=rampart ")).ToList();
        Assert.True(rampartLines.Count >= 2, list); // the shared connection and the dedicated one
        Assert.All(rampartLines, line => Assert.Contains($"addr={path}:0", line));
    }

    [Fact]
    public async Task ServerConnections_Several_EachClientKeepsItsOrder()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { ServerConnections = 4, PinnedMinIdle = 0 }); // counts the server's clients
        var clients = Enumerable.Range(0, 16).Select(c => Task.Run(() =>
        {
            using var client = new RawClient(rampart.Port);
            // INCR then GET on the same key: the GET must see this client's INCR, so its requests stay in order.
            for (int i = 1; i <= 200; i++)
            {
                client.Send(RespText.Command("INCR", $"order:{c}") + RespText.Command("GET", $"order:{c}"));
                Assert.Equal($":{i}", client.ReadLine());
                Assert.Equal($"${i.ToString().Length}", client.ReadLine());
                Assert.Equal(i.ToString(), client.ReadLine());
            }
        })).ToArray();
        await Task.WhenAll(clients);
        var connected = redis.Send("*2\r\n$4\r\nINFO\r\n$7\r\nclients\r\n");
        int serverSideClients = int.Parse(connected.Split("\r\n").First(l => l.StartsWith("connected_clients:"))["connected_clients:".Length..]);
        Assert.InRange(serverSideClients, 2, 5); // several shared connections (plus this INFO client), never one per client
    }

    [Fact]
    public async Task Preconnect_OpensServerConnectionsBeforeAnyClient()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { Preconnect = true, ServerConnections = 3 });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        int connected = 0;
        while (DateTime.UtcNow < deadline)
        {
            var info = redis.Send("*2\r\n$4\r\nINFO\r\n$7\r\nclients\r\n");
            connected = int.Parse(info.Split("\r\n").First(l => l.StartsWith("connected_clients:"))["connected_clients:".Length..]);
            if (connected >= 7) break;
            await Task.Delay(50);
        }
        Assert.Equal(7, connected); // three preconnected for each of the two event loops, plus the INFO probe itself
    }

    [Fact]
    public async Task GracefulStop_LetsInFlightRequestsFinish()
    {
        using var redis = RedisServerProcess.Start();
        var rampart = await RampartUnderTest.StartAsync(redis);
        using var client = new RawClient(rampart.Port);
        // DEBUG SLEEP would be refused; a slow Lua script holds the server for a moment instead.
        client.Send(RespText.Command("EVAL", "local t = redis.call('TIME'); local s = t[1] * 1000000 + t[2]; repeat local n = redis.call('TIME') until (n[1] * 1000000 + n[2]) - s > 300000; return 'done'", "0"));
        await Task.Delay(100);
        var stopping = rampart.Server.StopAsync(TimeSpan.FromSeconds(5));
        Assert.Equal("$4", client.ReadLine());
        Assert.Equal("done", client.ReadLine());
        await stopping;
    }
}
