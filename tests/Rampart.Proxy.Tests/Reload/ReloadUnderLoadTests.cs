using System.Diagnostics;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Reload;

/// <summary>
/// The reload test: 50 clients loop SET/GET through a pool while its server list changes (a second server
/// is added, then the weights change), a broken file is reloaded, and a reload adds a pool that then works. Every
/// reply is checked; no client may see an error or lose its connection.
/// </summary>
public sealed class ReloadUnderLoadTests
{
    private const int Clients = 50;

    private static readonly int MainPort = FreePort.Next();

    private static string MainPool(string servers) =>
        $"main:\n  listen: 127.0.0.1:{MainPort}\n  redis: true\n  timeout: 2000\n  servers:\n{servers}";

    [Fact]
    public async Task FiftyClients_ServerListChanges_BrokenFile_NewPool_NoErrorNoDroppedConnection()
    {
        using var a = RedisServerProcess.Start();
        using var b = RedisServerProcess.Start();
        using var c = RedisServerProcess.Start();
        string oneServer = $"    - 127.0.0.1:{a.Port}:1 a\n";
        string twoServers = oneServer + $"    - 127.0.0.1:{b.Port}:1 b\n";
        string reweighted = oneServer + $"    - 127.0.0.1:{b.Port}:3 b\n";
        await using var rampart = await RampartFromFile.StartAsync(MainPool(oneServer));
        int port = rampart.PortOf("main");

        var loop = new SetGetClientLoop(port, Clients);
        loop.Start();
        try
        {
            await loop.WaitForProgressAsync(20);

            var outcome = rampart.Reload(MainPool(twoServers));
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Contains($"server +b (127.0.0.1:{b.Port})", outcome.Changes);
            await loop.WaitForProgressAsync(20);

            outcome = rampart.Reload(MainPool(reweighted));
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Contains("weight b (127.0.0.1:" + b.Port + ") 1 -> 3", outcome.Changes);
            await loop.WaitForProgressAsync(20);

            // A broken file: refused with file:line: reason, counted, and the running configuration is untouched.
            outcome = rampart.Reload(MainPool(reweighted) + "  hash: fnv9\n");
            Assert.False(outcome.Success);
            Assert.Contains(outcome.Errors, e => e.StartsWith(rampart.Path + ":", StringComparison.Ordinal) && e.Contains("fnv9"));
            Assert.Equal(1, rampart.Server.ReloadFailures);
            Assert.Equal("fnv1a_64", rampart.Server.Config.Pools[0].Hash);
            await loop.WaitForProgressAsync(20);

            // A new pool starts listening and works, while the first pool's clients go on.
            outcome = rampart.Reload(MainPool(reweighted) + $"extra:\n  listen: 127.0.0.1:{FreePort.Next()}\n  redis: true\n  servers:\n    - 127.0.0.1:{c.Port}:1\n");
            Assert.True(outcome.Success, string.Join("\n", outcome.Errors));
            Assert.Contains("pool 'extra' added", outcome.Changes);
            using (var extra = RespTestClient.ConnectTcp(rampart.PortOf("extra")))
            {
                Assert.Equal("OK", extra.Call("SET", "extra-key", "extra-value"));
                Assert.Equal("extra-value"u8.ToArray(), extra.Call("GET", "extra-key"));
            }
            Assert.Equal("extra-value", c.Send("*2\r\n$3\r\nGET\r\n$9\r\nextra-key\r\n").Split("\r\n")[1]);
            await loop.WaitForProgressAsync(20);
        }
        finally
        {
            await loop.StopAsync();
        }

        Assert.Empty(loop.Failures);
        Assert.Equal(4, rampart.Server.ReloadSuccesses + rampart.Server.ReloadFailures);
        // Every client still has its first connection, and it still works.
        Assert.All(loop.Connections, client => Assert.Equal("PONG", client.Call("PING")));
        loop.Dispose();
        // The new server really took keys (the routing changed under the clients), so the check above was not vacuous.
        Assert.True(DbSize(b) > 0, "no key ever went to the added server");
        // A reply may be nil only when a client's SET and GET straddled a routing swap: at most once per client per
        // swap (two swaps changed placement). Any other value than the one written would be a failure above.
        Assert.True(loop.Misses <= 2 * Clients, $"{loop.Misses} GETs found nothing");
    }

    private static long DbSize(RedisServerProcess server) =>
        long.Parse(server.Send("*1\r\n$6\r\nDBSIZE\r\n").TrimStart(':').Trim(), System.Globalization.CultureInfo.InvariantCulture);
}
