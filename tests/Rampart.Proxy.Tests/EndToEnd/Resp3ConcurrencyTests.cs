using System.Text;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.EndToEnd;

/// <summary>
/// Multiplexing across the two lanes: RESP2 and RESP3 clients (some switching protocol every round) pipeline through
/// a 3-server pool while the servers keep killing Rampart's connections. Every reply must be the client's own, in its
/// order and in its protocol's types, or an error; never another client's value, never the other protocol's shape.
/// </summary>
public sealed class Resp3ConcurrencyTests
{
    [Fact]
    public async Task MixedProtocols_UnderConnectionKills_EachClientGetsOnlyItsOwnRepliesInItsOwnTypes()
    {
        var servers = new[] { RedisServerProcess.Start(), RedisServerProcess.Start(), RedisServerProcess.Start() };
        try
        {
            await using var rampart = await RampartUnderTest.StartAsync(servers);
            const int clients = 40;
            const int rounds = 60;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            using var stop = new CancellationTokenSource();
            int kills = 0;
            var killer = Task.Run(async () =>
            {
                // Every 100 ms one server drops every normal connection: Rampart's shared links of both lanes.
                for (int i = 0; !stop.IsCancellationRequested && i < 600; i++)
                {
                    await Task.Delay(100);
                    using var direct = RespTestClient.ConnectTcp(servers[i % servers.Length].Port);
                    if (direct.Call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes") is long killed && killed > 0)
                        Interlocked.Increment(ref kills);
                }
            });
            string run = Guid.NewGuid().ToString("N");
            int failed = 0;
            var workers = Enumerable.Range(0, clients).Select(c => Task.Run(() =>
            {
                using var client = Resp3Client.Connect(rampart.Port);
                bool resp3 = c % 2 == 0;
                if (resp3) Assert.StartsWith("%7", client.Call("HELLO", "3"));
                // At least the rounds, and on until faults were injected and hit requests (bounded by the deadline).
                for (int r = 0; (r < rounds || Volatile.Read(ref kills) < 5 || Volatile.Read(ref failed) == 0) && DateTime.UtcNow < deadline; r++)
                {
                    if (c % 5 == 0 && r > 0)
                    {
                        resp3 = !resp3; // a protocol switch between two pipelines
                        string hello = client.Call("HELLO", resp3 ? "3" : "2");
                        Assert.StartsWith(resp3 ? "%7" : "*14", hello);
                    }
                    string key = $"mix:{run}:{c}:{r}", other = $"mix:{run}:{c}:{r}:b", hash = $"mix:{run}:{c}:{r}:h";
                    string value = $"v{c}.{r}.{Guid.NewGuid():N}", missing = $"mix:{run}:{c}:{r}:none";
                    client.SendRaw([
                        .. RespTestClient.Command("SET", key, value), .. RespTestClient.Command("SET", other, value + "b"),
                        .. RespTestClient.Command("GET", key), .. RespTestClient.Command("GET", missing),
                        .. RespTestClient.Command("MGET", key, missing, other),
                        .. RespTestClient.Command("HSET", hash, "f", value), .. RespTestClient.Command("HGETALL", hash),
                    ]);
                    string nil = resp3 ? "_\r\n" : "$-1\r\n";
                    string setA = client.Read(), setB = client.Read();
                    string get = client.Read(), getMissing = client.Read(), mget = client.Read();
                    string hset = client.Read(), hgetall = client.Read();
                    // A write whose connection dropped may or may not have run: later reads may then see nothing.
                    bool aMayMiss = setA != "+OK\r\n", bMayMiss = setB != "+OK\r\n", hMayMiss = hset != ":1\r\n";
                    Assert.True(setA == "+OK\r\n" || IsError(setA), $"client {c}: SET answered {setA}");
                    Assert.True(setB == "+OK\r\n" || IsError(setB), $"client {c}: SET answered {setB}");
                    Assert.True(get == RespText.Bulk(value) || IsError(get) || (aMayMiss && get == nil), $"client {c}: GET answered {get}");
                    Assert.True(getMissing == nil || IsError(getMissing), $"client {c}: GET missing answered {getMissing}");
                    string mgetWhole = "*3\r\n" + RespText.Bulk(value) + nil + RespText.Bulk(value + "b");
                    Assert.True(mget == mgetWhole || IsError(mget) || ((aMayMiss || bMayMiss) && mget.StartsWith("*3\r\n") && !mget.Contains("mix:")),
                        $"client {c}: MGET answered {mget}");
                    Assert.True(hset == ":1\r\n" || IsError(hset), $"client {c}: HSET answered {hset}");
                    string hashWhole = (resp3 ? "%1\r\n" : "*2\r\n") + RespText.Bulk("f") + RespText.Bulk(value);
                    string hashEmpty = resp3 ? "%0\r\n" : "*0\r\n";
                    Assert.True(hgetall == hashWhole || IsError(hgetall) || (hMayMiss && hgetall == hashEmpty),
                        $"client {c}: HGETALL answered {hgetall}");
                    Interlocked.Add(ref failed, new[] { setA, setB, get, getMissing, mget, hset, hgetall }.Count(IsError));
                }
            })).ToArray();
            try
            {
                await Task.WhenAll(workers);
            }
            finally
            {
                stop.Cancel();
                await killer;
            }
            Assert.True(kills >= 5, $"the servers dropped Rampart's connections {kills} times in 60 s: too few faults injected");
            Assert.True(failed > 0, "no request ever failed: the kills never hit a request in flight");
        }
        finally
        {
            foreach (var s in servers) s.Dispose();
        }
    }

    private static bool IsError(string frame) => frame.Length > 0 && frame[0] is '-' or '!';

}
