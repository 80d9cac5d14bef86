using Rampart.Proxy.Configuration;
using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// SCAN and KEYS through a pool of four real servers holding thousands of keys: the walk goes server by server with
/// the cursor carrying where it is (<see cref="Rampart.Proxy.Commands.ScanCursor"/>), and every key that existed
/// throughout comes out, as Redis guarantees; KEYS is the union. Each test writes keys under its own prefix.
/// </summary>
public sealed class ShardedScanTests(FourShardFixture fixture) : IClassFixture<FourShardFixture>
{
    private readonly IDatabase _db = fixture.Client.GetDatabase();

    private async Task<string[]> WriteKeys(string prefix, int count)
    {
        var keys = Enumerable.Range(0, count).Select(i => $"{prefix}:{i}").ToArray();
        foreach (var chunk in keys.Chunk(500))
            Assert.True(await _db.StringSetAsync(chunk.Select(k => new KeyValuePair<RedisKey, RedisValue>(k, "v")).ToArray()));
        return keys;
    }

    /// <summary>A whole walk through Rampart: each call's cursor, and every key returned (duplicates kept).</summary>
    private static (List<string> Cursors, List<string> Keys) Walk(RespTestClient client, params string[] options)
    {
        var cursors = new List<string>();
        var keys = new List<string>();
        string cursor = "0";
        do
        {
            var reply = Assert.IsType<object?[]>(client.CallText(["SCAN", cursor, .. options]));
            cursor = Assert.IsType<string>(reply[0]);
            cursors.Add(cursor);
            keys.AddRange(Assert.IsType<object?[]>(reply[1]).Cast<string>());
            Assert.True(cursors.Count < 100_000, "the walk does not end");
        } while (cursor != "0");
        return (cursors, keys);
    }

    /// <summary>Every key of every server, asked of each server directly.</summary>
    private HashSet<string> KeysOnTheServers(string pattern) =>
        fixture.Servers.SelectMany(s =>
        {
            using var direct = RespTestClient.ConnectTcp(s.Port);
            return Assert.IsType<object?[]>(direct.CallText("KEYS", pattern)).Cast<string>();
        }).ToHashSet();

    [Fact]
    public async Task FullScan_ReturnsEveryKeyOfEveryServer_AndVisitsTheServersInOrder()
    {
        var written = await WriteKeys("full", 5000);
        Assert.Equal(4, fixture.Servers.Count(s => s.Send(RespText.Command("DBSIZE")) is not ":0\r\n"));
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);

        var (cursors, keys) = Walk(client, "COUNT", "100");

        Assert.Equal(KeysOnTheServers("*"), keys.ToHashSet());
        Assert.Superset(written.ToHashSet(), keys.ToHashSet());
        // Servers in order: the index (low 14 bits) never goes back, and each next server starts at its cursor 0.
        var indexes = cursors[..^1].Select(c => ulong.Parse(c) & 0x3FFF).ToArray();
        Assert.Equal(indexes.Order(), indexes);
        Assert.Equal([1UL, 2UL, 3UL], cursors.Select(ulong.Parse).Where(c => c is > 0 and < 4));
    }

    [Fact]
    public async Task MatchCountAndType_ArePassedOnToEachServer()
    {
        var strings = await WriteKeys("opts:s", 400);
        var hashes = Enumerable.Range(0, 300).Select(i => $"opts:h:{i}").ToArray();
        await Task.WhenAll(hashes.Select(h => _db.HashSetAsync(h, "f", "v")));
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);

        Assert.Equal(hashes.ToHashSet(), Walk(client, "MATCH", "opts:*", "TYPE", "hash", "COUNT", "50").Keys.ToHashSet());
        Assert.Equal(strings.ToHashSet(), Walk(client, "MATCH", "opts:s:*").Keys.ToHashSet());
        // COUNT reaches the server: a count larger than server 0's table walks all of it in one call.
        var first = Assert.IsType<object?[]>(client.CallText("SCAN", "0", "COUNT", "1000000"));
        Assert.Equal("1", first[0]);
        Assert.Equal(fixture.Servers[0].Send(RespText.Command("DBSIZE")), $":{((object?[])first[1]!).Length}\r\n");
        // An option the server refuses comes back as the server's own error.
        Assert.Equal("ERR syntax error", Assert.IsType<RespError>(client.Call("SCAN", "0", "COUNT", "0")).Message);
    }

    [Fact]
    public async Task KeysAddedAndDeletedDuringTheWalk_DoNotHideKeysThatExistedThroughout()
    {
        var stable = await WriteKeys("stable", 4000);
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        var seen = new HashSet<string>();
        string cursor = "0";
        int round = 0;
        do
        {
            // Churn between calls: new keys (growing the servers' tables, which makes them rehash) and deletions.
            await WriteKeys($"churn:{round}", 200);
            if (round > 0) await _db.KeyDeleteAsync(Enumerable.Range(0, 200).Select(i => (RedisKey)$"churn:{round - 1}:{i}").ToArray());
            var reply = Assert.IsType<object?[]>(client.CallText("SCAN", cursor, "MATCH", "stable:*", "COUNT", "200"));
            cursor = (string)reply[0]!;
            seen.UnionWith(((object?[])reply[1]!).Cast<string>());
            round++;
        } while (cursor != "0");
        Assert.True(round > 8, $"the walk took {round} calls: too few to interleave churn");
        Assert.Empty(stable.Except(seen));
    }

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
    public async Task Keys_IsTheUnionOfEveryServersKeys()
    {
        var written = await WriteKeys("union", 3000);
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);
        var keys = Assert.IsType<object?[]>(client.CallText("KEYS", "union:*")).Cast<string>().ToArray();
        Assert.Equal(keys.Length, keys.Distinct().Count());
        Assert.Equal(written.ToHashSet(), keys.ToHashSet());
        Assert.Empty(Assert.IsType<object?[]>(client.CallText("KEYS", "no-such-prefix:*")));
    }

    [Fact]
    public async Task StackExchangeRedis_ServerKeys_EnumeratesEveryKeyThroughRampart()
    {
        var written = await WriteKeys("sekeys", 2500);
        var server = fixture.Client.GetServer(fixture.Rampart.Endpoint);
        var keys = server.Keys(pattern: "sekeys:*", pageSize: 100).Select(k => (string)k!).ToList();
        Assert.Equal(written.ToHashSet(), keys.ToHashSet());
    }

    [Fact]
    public async Task RedisCli_Scan_EnumeratesEveryKeyThroughRampart()
    {
        var written = await WriteKeys("cliscan", 2500);
        var result = await ExternalProgram.RunAsync("redis-cli",
            ["-h", "127.0.0.1", "-p", fixture.Rampart.Port.ToString(), "--scan", "--pattern", "cliscan:*"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(written.ToHashSet(), result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet());
    }

    [Fact]
    public async Task Resp3Client_GetsTheSameShape_WithTheWalksCursor()
    {
        await WriteKeys("resp3scan", 40);
        using var client = Resp3Client.ConnectResp3(fixture.Rampart.Port);
        string reply = client.Call("SCAN", "0", "MATCH", "resp3scan:*", "COUNT", "1000000");
        Assert.StartsWith("*2\r\n$1\r\n1\r\n*", reply); // server 0 walked whole in one call: next is server 1 from its start
        Assert.Equal("*2\r\n$1\r\n0\r\n", client.Call("SCAN", "3", "MATCH", "resp3scan:*", "COUNT", "1000000")[..11]);
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
