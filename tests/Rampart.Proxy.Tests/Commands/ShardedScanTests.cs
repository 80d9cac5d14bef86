using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// SCAN and KEYS through a pool of four real servers (<see cref="ScanTests"/>), with what is particular to a sharded
/// pool: its cursors' server indexes, a server down mid-walk, the deny rules and a one-server pool.
/// </summary>
public sealed class ShardedScanTests(FourShardFixture fixture) : ScanTests(fixture), IClassFixture<FourShardFixture>
{
    [Theory]
    [InlineData("abc")]
    [InlineData("-")]
    [InlineData(" 1")]
    [InlineData("4")]                     // server index 4 of a 4-server pool
    [InlineData("18446744073709551616")]  // past 2^64-1, as Redis refuses it
    [InlineData("-1")]                    // 2^64-1 for strtoul: index 16383
    public void AnInvalidCursor_GetsRedissOwnError(string cursor)
    {
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        Assert.Equal("ERR invalid cursor", Assert.IsType<RespError>(client.Call("SCAN", cursor)).Message);
        // The last server's index with a cursor of its own (1 << 14 | 3) is a cursor like any other.
        Assert.IsType<object?[]>(client.Call("SCAN", "16387"));
    }

    [Fact]
    public async Task AServerThatIsDown_FailsOnlyItsStepOfTheWalk_WhichCanBeRetried()
    {
        using var up = RedisServerProcess.Start();
        var down = RedisServerProcess.Start();
        await using var rampart = await RampartUnderTest.StartAsync(up, down);
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        Assert.Equal("OK", client.Call("SET", "k", "v"));
        down.Dispose();

        var first = Assert.IsType<object?[]>(client.CallText("SCAN", "0", "COUNT", "1000"));
        Assert.Equal("1", first[0]); // server 0 is done: on to server 1
        Assert.StartsWith("ERR", Assert.IsType<RespError>(client.Call("SCAN", "1")).Message);
        Assert.Equal("PONG", client.Call("PING")); // the client carries on
        Assert.StartsWith("ERR", Assert.IsType<RespError>(client.Call("SCAN", "1")).Message); // the same cursor, again
    }

    [Theory]
    [InlineData("SCAN", "SCAN", "0")]
    [InlineData("KEYS", "KEYS", "*")]
    [InlineData("@keyspace", "SCAN", "0")]
    public async Task CommandsDeny_RefusesScanAndKeys_InAShardedPool(string rule, params string[] command)
    {
        var servers = fixture.Servers.ToArray();
        await using var rampart = await RampartUnderTest.StartAsync(RampartUnderTest.Pool(servers) with { Commands = new CommandRules { Deny = [rule] } });
        using var client = RespTestClient.ConnectTcp(rampart.Port);
        Assert.StartsWith("NOPERM", Assert.IsType<RespError>(client.Call(command)).Message);
    }

    [Fact]
    public async Task Scan_InAOneServerPool_IsForwardedUnchanged()
    {
        var server = fixture.Servers[0];
        await using var rampart = await RampartUnderTest.StartAsync(server);
        using var through = RespTestClient.ConnectTcp(rampart.Port);
        using var direct = RespTestClient.ConnectTcp(server.Port);
        var viaRampart = Assert.IsType<object?[]>(through.CallText("SCAN", "0", "COUNT", "7"));
        var viaServer = Assert.IsType<object?[]>(direct.CallText("SCAN", "0", "COUNT", "7"));
        Assert.NotEqual("0", viaServer[0]); // the server's own cursor, mid-walk: not re-encoded
        Assert.Equal(viaServer[0], viaRampart[0]);
        Assert.Equal(viaServer[1], viaRampart[1]);
    }
}
