using System.Net.Sockets;
using System.Text;
using Rampart.Proxy.Tests.Infrastructure;
using static Rampart.Proxy.Tests.Integration.ConcurrencyTests;

namespace Rampart.Proxy.Tests.Integration;

/// <summary>
/// <c>rampart: {event_loops}</c>: clients spread over the loops, each loop has its own <c>server_connections</c>
/// shared connections to every server, and no reply crosses to another client, whichever loops the client, its
/// shared connection and its dedicated connection run on.
/// </summary>
public sealed class EventLoopTests
{
    [Fact]
    public async Task ThreeLoops_EachHasItsOwnSharedConnections_AndEveryClientGetsOnlyItsOwnReplies()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(redis) with { ServerConnections = 2 }, eventLoops: 3);
        Assert.Equal(3, rampart.Server.EventLoopCount);
        const int clients = 30;
        const int rounds = 40;
        var deadline = DateTime.UtcNow.AddSeconds(60);

        // Each client: plain commands, a transaction sent whole (shared path) and a WATCH transaction (dedicated
        // connection, which may be on another loop than the client), all on keys and values only it uses.
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync("127.0.0.1", rampart.Port);
            using var stream = new NetworkStream(socket);
            using var reader = new StreamReader(stream, Encoding.ASCII);
            string counter = $"loops:counter:{c}";
            for (int r = 0; r < rounds && DateTime.UtcNow < deadline; r++)
            {
                string key = $"loops:{c}:{r}";
                string value = $"v-{c}-{r}-{Guid.NewGuid():N}";
                await stream.WriteAsync(Encoding.ASCII.GetBytes(
                    Resp("SET", key, value) + Resp("GET", key) + Resp("MULTI") + Resp("INCR", counter) + Resp("GET", key) + Resp("EXEC")));
                Assert.Equal("+OK", await reader.ReadLineAsync());
                Assert.Equal($"${value.Length}", await reader.ReadLineAsync());
                Assert.Equal(value, await reader.ReadLineAsync());
                Assert.Equal("+OK", await reader.ReadLineAsync());
                Assert.Equal("+QUEUED", await reader.ReadLineAsync());
                Assert.Equal("+QUEUED", await reader.ReadLineAsync());
                Assert.Equal("*2", await reader.ReadLineAsync());
                Assert.Equal($":{2 * r + 1}", await reader.ReadLineAsync());
                Assert.Equal($"${value.Length}", await reader.ReadLineAsync());
                Assert.Equal(value, await reader.ReadLineAsync());

                await stream.WriteAsync(Encoding.ASCII.GetBytes(Resp("WATCH", counter) + Resp("MULTI") + Resp("INCR", counter) + Resp("EXEC") + Resp("ECHO", value)));
                Assert.Equal("+OK", await reader.ReadLineAsync());
                Assert.Equal("+OK", await reader.ReadLineAsync());
                Assert.Equal("+QUEUED", await reader.ReadLineAsync());
                Assert.Equal("*1", await reader.ReadLineAsync());
                Assert.Equal($":{2 * r + 2}", await reader.ReadLineAsync());
                Assert.Equal($"${value.Length}", await reader.ReadLineAsync());
                Assert.Equal(value, await reader.ReadLineAsync());
            }
        })).ToArray();
        await Task.WhenAll(tasks);

        // Two shared connections per loop, all six used: the clients were spread over every loop.
        var server = rampart.Server.GetPool("test").Routing.Default;
        var connections = server.AllConnections.ToList();
        Assert.Equal(6, connections.Count);
        Assert.Equal([2, 2, 2], connections.GroupBy(c => c.Loop.Index).OrderBy(g => g.Key).Select(g => g.Count()));
        Assert.All(connections, c => Assert.NotNull(c.Link));
    }
}
