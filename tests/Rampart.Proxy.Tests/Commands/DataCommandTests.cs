using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>One server behind Rampart.</summary>
public sealed class SingleServerDataCommandTests(ProxiedRedisFixture fixture)
    : DataCommandTests(fixture), IClassFixture<ProxiedRedisFixture>;

/// <summary>Four shards behind Rampart: the same suite, multi-key commands split over servers.</summary>
public sealed class FourShardDataCommandTests(FourShardFixture fixture)
    : DataCommandTests(fixture), IClassFixture<FourShardFixture>;

/// <summary>The data commands users run, through Rampart with StackExchange.Redis, checked against the servers themselves.</summary>
public abstract class DataCommandTests(IProxiedPool fixture)
{
    private readonly IDatabase _db = fixture.Client.GetDatabase();

    private static string Key(string name) => $"{name}:{Guid.NewGuid():N}";

    [Fact]
    public async Task Strings_SetGetIncrAppend_BehaveAsOnRedis()
    {
        string k = Key("str");
        Assert.True(await _db.StringSetAsync(k, "10"));
        Assert.Equal(11, await _db.StringIncrementAsync(k));
        Assert.Equal(4, await _db.StringAppendAsync(k, "ab"));
        Assert.Equal("11ab", (string?)await _db.StringGetAsync(k));
        Assert.Equal("11ab"u8.ToArray(), fixture.DirectGet(System.Text.Encoding.UTF8.GetBytes(k)));
        Assert.False((await _db.StringGetAsync(Key("missing"))).HasValue);
    }

    [Fact]
    public async Task Hashes_FieldsRoundTrip()
    {
        string k = Key("hash");
        await _db.HashSetAsync(k, [new("a", "1"), new("b", "2")]);
        Assert.Equal("2", (string?)await _db.HashGetAsync(k, "b"));
        var all = (await _db.HashGetAllAsync(k)).ToDictionary(e => (string)e.Name!, e => (string)e.Value!);
        Assert.Equal(new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" }, all);
        Assert.Equal(2, await _db.HashLengthAsync(k));
    }

    [Fact]
    public async Task Lists_PushRangePop()
    {
        string k = Key("list");
        await _db.ListRightPushAsync(k, ["a", "b", "c"]);
        Assert.Equal(["a", "b", "c"], (await _db.ListRangeAsync(k)).Select(v => (string)v!));
        Assert.Equal("a", (string?)await _db.ListLeftPopAsync(k));
        Assert.Equal(2, await _db.ListLengthAsync(k));
    }

    [Fact]
    public async Task Sets_AddMembersContains()
    {
        string k = Key("set");
        Assert.Equal(3, await _db.SetAddAsync(k, ["x", "y", "z"]));
        Assert.True(await _db.SetContainsAsync(k, "y"));
        Assert.Equal(["x", "y", "z"], (await _db.SetMembersAsync(k)).Select(v => (string)v!).Order());
    }

    [Fact]
    public async Task SortedSets_ScoresAndRanges()
    {
        string k = Key("zset");
        await _db.SortedSetAddAsync(k, [new("a", 3), new("b", 1), new("c", 2)]);
        Assert.Equal(["b", "c", "a"], (await _db.SortedSetRangeByRankAsync(k)).Select(v => (string)v!));
        Assert.Equal(2, await _db.SortedSetScoreAsync(k, "c"));
        Assert.Equal(1, await _db.SortedSetRankAsync(k, "c"));
    }

    [Fact]
    public async Task Streams_AddAndRead()
    {
        string k = Key("stream");
        var id1 = await _db.StreamAddAsync(k, "f", "1");
        var id2 = await _db.StreamAddAsync(k, "f", "2");
        var entries = await _db.StreamRangeAsync(k);
        Assert.Equal([id1, id2], entries.Select(e => e.Id));
        Assert.Equal("2", (string?)entries[1]["f"]);
        Assert.Equal(2, await _db.StreamLengthAsync(k));
    }

    [Fact]
    public async Task Expiry_SetAndObserved()
    {
        string k = Key("exp");
        await _db.StringSetAsync(k, "v", TimeSpan.FromSeconds(100));
        var ttl = await _db.KeyTimeToLiveAsync(k);
        Assert.NotNull(ttl);
        Assert.InRange(ttl!.Value.TotalSeconds, 90, 100);
        await _db.StringSetAsync(k, "v", TimeSpan.FromMilliseconds(50));
        await Task.Delay(200);
        Assert.False(await _db.KeyExistsAsync(k));
    }

    [Fact]
    public async Task LargeValue_TenMegabytes_RoundTripsIntact()
    {
        string k = Key("large");
        var value = new byte[10 * 1024 * 1024];
        new Random(42).NextBytes(value);
        await _db.StringSetAsync(k, value);
        byte[]? back = await _db.StringGetAsync(k);
        Assert.NotNull(back);
        Assert.True(value.AsSpan().SequenceEqual(back));
    }

    [Fact]
    public async Task BinaryKeysAndValues_WithCrLfAndZeroBytes_AreKeptExactly()
    {
        byte[] key = [0, 13, 10, 255, (byte)'k', 0, 36, 42];
        byte[] value = [13, 10, 0, 13, 10, 36, 45, 49, 13, 10, 200];
        await _db.StringSetAsync(key, value);
        byte[]? back = await _db.StringGetAsync(key);
        Assert.Equal(value, back);
        Assert.Equal(value, fixture.DirectGet(key));
    }

    [Fact]
    public async Task Pipeline_TenThousandCommands_AllRepliesInOrder()
    {
        string prefix = Key("pipe");
        var batch = _db.CreateBatch();
        var sets = new List<Task>();
        var gets = new List<Task<RedisValue>>();
        for (int i = 0; i < 10_000; i++)
        {
            sets.Add(batch.StringSetAsync($"{prefix}:{i}", i));
            gets.Add(batch.StringGetAsync($"{prefix}:{i}"));
        }
        batch.Execute();
        await Task.WhenAll(sets);
        var values = await Task.WhenAll(gets);
        for (int i = 0; i < values.Length; i++) Assert.Equal(i, (int)values[i]);
    }

    [Fact]
    public async Task MultiKeyCommands_MsetMgetDelExists_WorkWhereverKeysLive()
    {
        var keys = Enumerable.Range(0, 50).Select(i => (RedisKey)Key($"multi{i}")).ToArray();
        Assert.True(await _db.StringSetAsync(keys.Select((k, i) => new KeyValuePair<RedisKey, RedisValue>(k, i)).ToArray()));
        var values = await _db.StringGetAsync(keys);
        Assert.Equal(Enumerable.Range(0, 50), values.Select(v => (int)v));
        Assert.Equal(50, await _db.KeyExistsAsync(keys));
        Assert.Equal(25, await _db.KeyDeleteAsync(keys.Take(25).ToArray()));
        Assert.Equal(25, await _db.KeyExistsAsync(keys));
    }

    [Fact]
    public async Task ServerErrors_AreForwardedAsErrors()
    {
        string k = Key("wrongtype");
        await _db.ListRightPushAsync(k, "x");
        var e = await Assert.ThrowsAsync<RedisServerException>(() => _db.StringIncrementAsync(k));
        Assert.StartsWith("WRONGTYPE", e.Message);
    }
}
