using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>SCAN and KEYS through a cluster pool: the walk goes master by master.</summary>
public sealed class ClusterScanTests(ClusterPoolFixture fixture) : ScanTests(fixture), IClassFixture<ClusterPoolFixture>;

/// <summary>
/// SCAN and KEYS through a pool of several real servers (shards, or a cluster's masters) holding thousands of keys:
/// the walk goes server by server with the cursor carrying where it is
/// (<see cref="Rampart.Proxy.Commands.ScanCursor"/>), and every key that existed throughout comes out, as Redis
/// guarantees; KEYS is the union. Each test writes keys under its own prefix.
/// </summary>
public abstract class ScanTests(IProxiedPool fixture)
{
    private readonly IDatabase _db = fixture.Client.GetDatabase();

    protected async Task<string[]> WriteKeys(string prefix, int count)
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
        Assert.Equal(fixture.Servers.Count, fixture.Servers.Count(s => s.Send(RespText.Command("DBSIZE")) is not ":0\r\n"));
        using var client = RespTestClient.ConnectTcp(fixture.Rampart.Port);

        var (cursors, keys) = Walk(client, "COUNT", "100");

        Assert.Equal(KeysOnTheServers("*"), keys.ToHashSet());
        Assert.Superset(written.ToHashSet(), keys.ToHashSet());
        // Servers in order: the index (low 14 bits) never goes back, and each next server starts at its cursor 0.
        var indexes = cursors[..^1].Select(c => ulong.Parse(c) & 0x3FFF).ToArray();
        Assert.Equal(indexes.Order(), indexes);
        var next = Enumerable.Range(1, fixture.Servers.Count - 1).Select(i => (ulong)i);
        Assert.Equal(next, cursors.Select(ulong.Parse).Where(c => c > 0 && c < (ulong)fixture.Servers.Count));
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
        // COUNT reaches the server: a count larger than the first server's table walks all of it in one call (which
        // server comes first is the pool's order: a cluster's is its map's, so the server is found by a key).
        var first = Assert.IsType<object?[]>(client.CallText("SCAN", "0", "COUNT", "1000000"));
        Assert.Equal("1", first[0]);
        var firstKeys = ((object?[])first[1]!).Cast<string>().ToArray();
        Assert.Equal(fixture.OwnerOf(firstKeys[0]).Send(RespText.Command("DBSIZE")), $":{firstKeys.Length}\r\n");
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
        string last = (fixture.Servers.Count - 1).ToString(); // the last server, from its start: the walk ends there
        Assert.Equal("*2\r\n$1\r\n0\r\n", client.Call("SCAN", last, "MATCH", "resp3scan:*", "COUNT", "1000000")[..11]);
    }
}
