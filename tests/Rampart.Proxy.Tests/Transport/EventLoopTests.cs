using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Transport;

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
        // connection, which may be on another loop than the client), all on keys and values only it uses. Every
        // reply is compared byte for byte, the counter included.
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(() =>
        {
            using var client = new RawClient(rampart.Port);
            string counter = $"loops:counter:{c}";
            for (int r = 0; r < rounds && DateTime.UtcNow < deadline; r++)
            {
                string key = $"loops:{c}:{r}";
                string value = $"v-{c}-{r}-{Guid.NewGuid():N}";
                string bulk = $"${value.Length}\r\n{value}\r\n";
                Exchange(client,
                    RespText.Command("SET", key, value) + RespText.Command("GET", key) + RespText.Command("MULTI") + RespText.Command("INCR", counter) + RespText.Command("GET", key) + RespText.Command("EXEC"),
                    "+OK\r\n" + bulk + "+OK\r\n+QUEUED\r\n+QUEUED\r\n" + $"*2\r\n:{2 * r + 1}\r\n" + bulk);
                Exchange(client,
                    RespText.Command("WATCH", counter) + RespText.Command("MULTI") + RespText.Command("INCR", counter) + RespText.Command("EXEC") + RespText.Command("ECHO", value),
                    "+OK\r\n+OK\r\n+QUEUED\r\n" + $"*1\r\n:{2 * r + 2}\r\n" + bulk);
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

    private static void Exchange(RawClient client, string requests, string expectedReplies)
    {
        client.Send(requests);
        Assert.Equal(expectedReplies, client.ReadExactly(Encoding.ASCII.GetByteCount(expectedReplies)));
    }
}
