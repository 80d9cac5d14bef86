using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Pinning;

/// <summary>
/// CLIENT TRACKING ON and MONITOR take a server connection whole: the client's reads are tracked on a connection of its
/// own (never a shared one, whose other clients' reads would be tracked for it), invalidations reach it (RESP3) or the
/// client its REDIRECT names (Rampart's client id, translated), and MONITOR streams what the server runs.
/// </summary>
public class PassThroughTests
{
    private static RespTestClient Connect(int port)
    {
        var client = RespTestClient.ConnectTcp(port);
        client.ReadTimeoutMs = 5_000;
        return client;
    }

    /// <summary>The server's CLIENT LIST lines of connections with tracking on (flag t).</summary>
    private static string[] TrackingConnections(RedisServerProcess redis)
    {
        using var direct = RespTestClient.ConnectTcp(redis.Port);
        string list = (string)direct.CallText("CLIENT", "LIST")!;
        return list.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => line.Split(' ').Any(field => field.StartsWith("flags=") && field.Contains('t'))).ToArray();
    }

    [Fact]
    public async Task Resp2Tracking_RedirectsToARampartClientId_AndOnlyTheTrackersReadsAreTracked()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var listener = Connect(rampart.Port);
        using var tracker = Connect(rampart.Port);
        using var other = Connect(rampart.Port);

        long listenerId = (long)listener.Call("CLIENT", "ID")!;
        long trackerId = (long)tracker.Call("CLIENT", "ID")!;
        Assert.Equal(["subscribe", "__redis__:invalidate", 1L], Assert.IsType<object?[]>(listener.CallText("SUBSCRIBE", "__redis__:invalidate")));
        Assert.Equal("OK", tracker.Call("CLIENT", "TRACKING", "on", "REDIRECT", listenerId.ToString()));
        Assert.Equal(trackerId, tracker.Call("CLIENT", "ID")); // Rampart's id still, not the server connection's
        Assert.Equal(listenerId, tracker.Call("CLIENT", "GETREDIR"));

        Assert.Equal("OK", other.Call("SET", "cached", "1"));
        Assert.Equal("OK", other.Call("SET", "not-cached", "1"));
        Assert.Equal("1", RespTestClient.AsText(tracker.Call("GET", "cached")));
        Assert.Equal("1", RespTestClient.AsText(other.Call("GET", "not-cached"))); // another client's read: not tracked
        Assert.Equal(2L, other.Call("INCR", "not-cached"));
        Assert.Equal(2L, other.Call("INCR", "cached"));

        var message = Assert.IsType<object?[]>(RespTestClient.AsText(listener.ReadReply()));
        Assert.Equal("message", message[0]);
        Assert.Equal("__redis__:invalidate", message[1]);
        Assert.Equal(["cached"], Assert.IsType<object?[]>(message[2]));
        Assert.Single(TrackingConnections(redis)); // the tracker's own connection, no shared one
    }

    [Fact]
    public async Task Resp3Tracking_InvalidationPushesReachTheTracker_InTheServersOrder()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var tracker = Resp3Client.ConnectResp3(rampart.Port);
        using var other = Connect(rampart.Port);

        Assert.Equal("+OK\r\n", tracker.Call("CLIENT", "TRACKING", "on"));
        Assert.Equal("OK", other.Call("SET", "k", "1"));
        Assert.Equal("$1\r\n1\r\n", tracker.Call("GET", "k"));
        Assert.Equal("OK", other.Call("SET", "k", "2"));
        Assert.Equal(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n", tracker.Read());
        Assert.Equal("+PONG\r\n", tracker.Call("PING"));
        Assert.Equal("+OK\r\n", tracker.Call("CLIENT", "TRACKING", "off"));
        Assert.Equal("OK", other.Call("SET", "k", "3"));
        Assert.True(tracker.IsQuietFor(200));
    }

    [Fact]
    public async Task TheTrackersConnection_ClosesWithIt_AndIsNeverLentToAnotherClient()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using (var tracker = Resp3Client.ConnectResp3(rampart.Port))
        {
            Assert.Equal("+OK\r\n", tracker.Call("CLIENT", "TRACKING", "on"));
            Assert.Single(TrackingConnections(redis));
        }
        Assert.True(await Poll.TryWaitUntilAsync(() => TrackingConnections(redis).Length == 0, TimeSpan.FromSeconds(5)),
            "the tracking connection outlived its client");
    }

    [Fact]
    public async Task Reset_EndsTracking_AndTheClientIsBackOnTheSharedPath()
    {
        using var redis = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(redis);
        using var tracker = Resp3Client.ConnectResp3(rampart.Port);
        Assert.Equal("+OK\r\n", tracker.Call("CLIENT", "SETNAME", "cache"));
        Assert.Equal("+OK\r\n", tracker.Call("CLIENT", "TRACKING", "on"));
        Assert.Single(TrackingConnections(redis));

        // Pipelined: the GET waits for RESET's reply, then runs on the shared path, in RESP2 as after Redis's RESET.
        tracker.SendRaw([.. RespTestClient.Command("RESET"), .. RespTestClient.Command("GET", "missing")]);
        Assert.Equal("+RESET\r\n", tracker.Read());
        Assert.Equal("$-1\r\n", tracker.Read());
        Assert.Equal("$-1\r\n", tracker.Call("CLIENT", "GETNAME")); // the name went with RESET
        Assert.StartsWith("$", tracker.Call("CLIENT", "LIST")); // Rampart's own answer again
        Assert.True(await Poll.TryWaitUntilAsync(() => TrackingConnections(redis).Length == 0, TimeSpan.FromSeconds(5)),
            "the tracking connection outlived RESET");
    }

    [Fact]
    public async Task TrackingOn_InsideMulti_OrInAPoolOfSeveralServers_IsRefused()
    {
        using var a = RedisServerProcess.Start();
        using var b = RedisServerProcess.Start();
        await using var single = await RampartUnderTest.StartAsync(a);
        using var client = Connect(single.Port);
        Assert.Equal("OK", client.Call("MULTI"));
        Assert.Contains("takes the client's server connection whole", Assert.IsType<RespError>(client.Call("CLIENT", "TRACKING", "on")).Message);
        Assert.StartsWith("EXECABORT", Assert.IsType<RespError>(client.Call("EXEC")).Message);
        Assert.Empty(TrackingConnections(a));

        await using var sharded = await RampartUnderTest.StartAsync(a, b);
        using var shardedClient = Connect(sharded.Port);
        Assert.Contains("pool 'test' has 2 servers", Assert.IsType<RespError>(shardedClient.Call("CLIENT", "TRACKING", "on")).Message);
        Assert.Equal("PONG", shardedClient.Call("PING"));
    }

    [Fact]
    public async Task Monitor_WhenAllowed_StreamsWhatOtherClientsRun()
    {
        using var redis = RedisServerProcess.Start();
        await using var refusing = await RampartUnderTest.StartAsync(redis);
        using (var client = Connect(refusing.Port))
            Assert.StartsWith("ERR 'MONITOR' is not supported by rampart", Assert.IsType<RespError>(client.Call("MONITOR")).Message);

        var pool = RampartUnderTest.Pool(redis) with { Commands = new CommandRules { Allow = ["@admin"] } };
        await using var rampart = await RampartUnderTest.StartAsync(pool);
        using var monitor = Connect(rampart.Port);
        using var other = Connect(rampart.Port);
        Assert.Equal("OK", monitor.Call("MONITOR"));
        Assert.Equal("OK", other.Call("SET", "watched", "value"));
        string line;
        do line = (string)RespTestClient.AsText(monitor.ReadReply())!;
        while (!line.Contains("\"watched\""));
        Assert.Contains("\"set\" \"watched\" \"value\"", line, StringComparison.OrdinalIgnoreCase);
    }
}
