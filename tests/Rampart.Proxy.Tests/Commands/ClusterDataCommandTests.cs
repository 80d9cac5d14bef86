using Rampart.Proxy.Tests.Infrastructure;
using StackExchange.Redis;

namespace Rampart.Proxy.Tests.Commands;

/// <summary>
/// A Redis Cluster of three masters behind Rampart: the data-command suite of the single-server pool, keys routed by
/// slot and checked on the master serving it; and Redis Cluster's own rule for multi-key commands that Rampart does not
/// split: keys of one slot, or Redis's CROSSSLOT error and nothing done.
/// </summary>
public sealed class ClusterDataCommandTests(ClusterPoolFixture fixture)
    : DataCommandTests(fixture), IClassFixture<ClusterPoolFixture>
{
    private const string CrossSlot = "CROSSSLOT Keys in request don't hash to the same slot";
    private readonly IDatabase _db = fixture.Client.GetDatabase();

    [Fact]
    public async Task SplitCommands_OverKeysOfEveryMaster_StoreEachOnItsOwner()
    {
        var keys = fixture.KeysOnEveryServer("split");
        Assert.Equal(3, keys.Select(k => fixture.OwnerOf(k).Port).Distinct().Count());
        Assert.True(await _db.StringSetAsync(keys.Select(k => new KeyValuePair<RedisKey, RedisValue>(k, "v-" + k)).ToArray()));
        foreach (var k in keys) Assert.Equal("v-" + k, fixture.DirectGet(k));
        Assert.Equal(keys.Select(k => "v-" + k), (await _db.StringGetAsync(keys.Select(k => (RedisKey)k).ToArray())).Select(v => (string?)v));
        Assert.Equal(3, (long)await _db.ExecuteAsync("TOUCH", keys.Cast<object>().ToArray()));
        Assert.Equal(3, (long)await _db.ExecuteAsync("UNLINK", keys.Cast<object>().ToArray()));
        Assert.All(keys, k => Assert.Null(fixture.DirectGet(k)));
    }

    [Theory]
    [InlineData("MSETNX|{a}|1|{b}|2")]
    [InlineData("SUNIONSTORE|{a}|{b}|{c}")]
    [InlineData("SINTER|{a}|{b}")]
    [InlineData("SMOVE|{a}|{b}|m")]
    [InlineData("RENAME|{a}|{b}")]
    [InlineData("LMOVE|{a}|{b}|LEFT|RIGHT")]
    [InlineData("ZUNIONSTORE|{a}|2|{b}|{c}")]
    [InlineData("PFCOUNT|{a}|{b}")]
    [InlineData("BITOP|AND|{a}|{b}")]
    [InlineData("COPY|{a}|{b}")]
    public async Task OtherMultiKeyCommands_OverTwoSlots_GetRedisCrossSlotError_AndChangeNothing(string command)
    {
        // {a}, {b}, {c} stand for keys of different masters: Redis refuses them whatever node they live on.
        var keys = fixture.KeysOnEveryServer("cross");
        await _db.StringSetAsync(keys[0], "source");
        string[] args = command.Split('|').Select(a => a.Replace("{a}", keys[0]).Replace("{b}", keys[1]).Replace("{c}", keys[2])).ToArray();
        var e = await Assert.ThrowsAsync<RedisServerException>(() => _db.ExecuteAsync(args[0], args[1..].Cast<object>().ToArray()));
        Assert.Equal(CrossSlot, e.Message);
        Assert.Equal("source", fixture.DirectGet(keys[0]));
        Assert.Null(fixture.DirectGet(keys[1]));
    }

    [Fact]
    public async Task MultiKeyCommands_OverTwoSlotsOfOneMaster_GetCrossSlotToo()
    {
        // Redis's rule is by slot, not by node: two slots that one master serves are still refused.
        string a = Key("same-node");
        string b = Enumerable.Range(0, 10_000).Select(_ => Key("same-node"))
            .First(k => Slot(k) != Slot(a) && fixture.OwnerOf(k).Port == fixture.OwnerOf(a).Port);
        var e = await Assert.ThrowsAsync<RedisServerException>(() => _db.ExecuteAsync("SUNIONSTORE", a, a, b));
        Assert.Equal(CrossSlot, e.Message);
    }

    [Fact]
    public async Task MultiKeyCommands_WithinOneHashTag_RunOnTheOwner()
    {
        string tag = $"{{{Guid.NewGuid():N}}}";
        Assert.True(await _db.SetAddAsync($"{tag}a", "x"));
        Assert.True(await _db.SetAddAsync($"{tag}b", "y"));
        Assert.Equal(2, await _db.SetCombineAndStoreAsync(SetOperation.Union, $"{tag}dest", $"{tag}a", $"{tag}b"));
        Assert.True(await _db.StringSetAsync($"{tag}s", "moved"));
        Assert.True(await _db.KeyRenameAsync($"{tag}s", $"{tag}t"));
        Assert.Equal("moved", fixture.DirectGet($"{tag}t"));
    }

    private static string Key(string name) => $"{name}:{Guid.NewGuid():N}";

    private static int Slot(string key) => Rampart.Proxy.Routing.ClusterSlot.Of(System.Text.Encoding.UTF8.GetBytes(key));
}
